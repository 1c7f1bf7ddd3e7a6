//! HTML to plain text, without an HTML parser: good enough for job descriptions, never panics on broken markup.

/// Elements that start a new line of text.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
];

/// Elements whose content is not text.
const SKIPPED_TAGS: &[&str] = &["script", "style", "template", "noscript", "head", "title"];

/// Converts an HTML fragment to plain text.
///
/// Tags are removed; block elements (`p`, `div`, `br`, `li`, headings, ...) start new lines and list items are
/// prefixed with `- `; table cells are separated by spaces; comments, `script` and `style` are dropped. Entities in
/// text are decoded after the tags are removed, so `&lt;b&gt;` stays the text `<b>`. Runs of whitespace (including
/// non-breaking spaces) become one space, lines are trimmed and empty lines dropped.
///
/// A string that is entity-escaped HTML (as Greenhouse sends it) must be unescaped before it is passed here.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(pos) = rest.find('<') {
        push_text(&mut out, &rest[..pos]);
        let markup = &rest[pos..];
        rest = match parse_markup(markup) {
            Markup::Text => {
                out.push('<');
                &markup[1..]
            }
            Markup::Skip(len) => markup.get(len..).unwrap_or_default(),
            Markup::Tag { name, closing, len } => {
                let after = markup.get(len..).unwrap_or_default();
                if !closing && SKIPPED_TAGS.contains(&name.as_str()) {
                    skip_element(after, &name)
                } else {
                    if BLOCK_TAGS.contains(&name.as_str()) {
                        out.push('\n');
                        if name == "li" && !closing {
                            out.push_str("- ");
                        }
                    } else if matches!(name.as_str(), "td" | "th") {
                        out.push(' ');
                    }
                    after
                }
            }
        };
    }
    push_text(&mut out, rest);
    tidy_lines(&out)
}

/// Tidies plain text: whitespace runs (including non-breaking spaces) within a line become one space, lines are
/// trimmed, empty lines dropped. Returns `None` when nothing is left.
pub(crate) fn tidy_plain(text: &str) -> Option<String> {
    let tidy = tidy_lines(text);
    (!tidy.is_empty()).then_some(tidy)
}

/// [`html_to_text`], `None` when no text is left.
pub(crate) fn html_text(html: &str) -> Option<String> {
    let text = html_to_text(html);
    (!text.is_empty()).then_some(text)
}

/// Appends a text run: entities decoded, every whitespace character (source newlines included) as a space.
fn push_text(out: &mut String, raw: &str) {
    let decoded = html_escape::decode_html_entities(raw);
    out.extend(decoded.chars().map(|c| if c.is_whitespace() { ' ' } else { c }));
}

fn tidy_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut words = line.split_whitespace().peekable();
        if words.peek().is_none() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        for (i, word) in words.enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// What starts at a `<`.
enum Markup {
    /// Not markup: a literal `<`.
    Text,
    /// A comment, doctype or processing instruction of this many bytes.
    Skip(usize),
    /// A start or end tag of this many bytes; `name` is lowercase.
    Tag { name: String, closing: bool, len: usize },
}

/// Recognises the markup at the start of `s` (which starts with `<`).
fn parse_markup(s: &str) -> Markup {
    if let Some(comment) = s.strip_prefix("<!--") {
        return Markup::Skip(comment.find("-->").map_or(s.len(), |end| 4 + end + 3));
    }
    if s.starts_with("<!") || s.starts_with("<?") {
        return Markup::Skip(s.find('>').map_or(s.len(), |end| end + 1));
    }
    let (closing, name_start) = if s.starts_with("</") { (true, 2) } else { (false, 1) };
    let after = s.get(name_start..).unwrap_or_default();
    if !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Markup::Text;
    }
    let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':')).unwrap_or(after.len());
    let name = after[..name_len].to_ascii_lowercase();
    let len = name_start + name_len + tag_end(&after[name_len..]);
    Markup::Tag { name, closing, len }
}

/// Bytes up to and including the `>` closing a tag's attributes, skipping quoted values; the whole rest when the
/// tag is never closed.
fn tag_end(attrs: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in attrs.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return i + 1,
            (None, _) => {}
        }
    }
    // An unbalanced quote: fall back to the first `>`.
    attrs.find('>').map_or(attrs.len(), |i| i + 1)
}

/// The text after the end tag `</name ...>` (any case), or nothing when it never comes. Reads only up to that tag,
/// so a description of many such elements is converted in time linear in its length.
fn skip_element<'a>(s: &'a str, name: &str) -> &'a str {
    let mut from = 0;
    while let Some(at) = s.get(from..).and_then(|rest| rest.find("</")).map(|i| from + i) {
        let candidate = s.as_bytes().get(at + 2..at + 2 + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
            let tail = s.get(at..).unwrap_or_default();
            return tail.find('>').and_then(|end| tail.get(end + 1..)).unwrap_or_default();
        }
        from = at + 2;
    }
    ""
}

/// The bodies of `<script type="application/ld+json">` elements (any case, any attribute quoting), with
/// `<!-- -->` and CDATA wrappers removed; empty ones are skipped.
pub(crate) fn ld_json_scripts(page: &str) -> Vec<&str> {
    let lower = page.to_ascii_lowercase(); // ASCII lowering keeps byte offsets.
    let mut scripts = Vec::new();
    let mut from = 0;
    while let Some(start) = lower.get(from..).and_then(|rest| rest.find("<script")).map(|i| from + i) {
        let attrs_at = start + "<script".len();
        let attrs = page.get(attrs_at..).unwrap_or_default();
        if !attrs.starts_with(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/') {
            from = attrs_at;
            continue;
        }
        let body_at = attrs_at + tag_end(attrs);
        let attrs = page.get(attrs_at..body_at).unwrap_or_default();
        let body_end = lower.get(body_at..).and_then(|rest| rest.find("</script")).map_or(page.len(), |i| body_at + i);
        if is_ld_json(attrs) {
            let body = unwrap_script(page.get(body_at..body_end).unwrap_or_default());
            if !body.is_empty() {
                scripts.push(body);
            }
        }
        from = body_end.max(attrs_at);
    }
    scripts
}

/// Whether a script tag's attributes include `type="application/ld+json"` (quoted either way or not at all).
fn is_ld_json(attrs: &str) -> bool {
    let mut rest = attrs;
    while let Some(i) = rest.to_ascii_lowercase().find("type") {
        let before = rest.get(..i).and_then(|b| b.chars().last());
        rest = rest.get(i + 4..).unwrap_or_default();
        if before.is_some_and(|c| !c.is_ascii_whitespace()) {
            continue;
        }
        let Some(value) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let value = value.trim_start();
        let value = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value.get(1..).and_then(|v| v.split(q).next()).unwrap_or_default(),
            _ => value.split(|c: char| c.is_ascii_whitespace() || c == '>').next().unwrap_or_default(),
        };
        let mime = value.split(';').next().unwrap_or_default().trim();
        return mime.eq_ignore_ascii_case("application/ld+json");
    }
    false
}

/// Strips `<!-- -->` and CDATA wrappers some pages put around script content.
fn unwrap_script(body: &str) -> &str {
    let mut body = body.trim();
    for (open, close) in [("<!--", "-->"), ("<![CDATA[", "]]>"), ("//<![CDATA[", "//]]>")] {
        if let Some(inner) = body.strip_prefix(open) {
            body = inner.strip_suffix(close).unwrap_or(inner).trim();
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_breaks_blocks() {
        let html = "<div class=\"x\"><h2><strong>About</strong> us</h2>\n<p>We build\n  things.</p><ul><li>One</li><li>Two <em>too</em></li></ul>Tail<br/>End</div>";
        assert_eq!(html_to_text(html), "About us\nWe build things.\n- One\n- Two too\nTail\nEnd");
    }

    #[test]
    fn decodes_entities_after_stripping() {
        assert_eq!(html_to_text("<p>Fish &amp; chips&nbsp;&nbsp;now</p>"), "Fish & chips now");
        assert_eq!(html_to_text("&lt;b&gt;literal&lt;/b&gt;"), "<b>literal</b>");
        assert_eq!(html_to_text("Veeva Link&rsquo;s vision &#8212; &#x41;"), "Veeva Link\u{2019}s vision \u{2014} A");
    }

    #[test]
    fn nbsp_and_whitespace_collapse() {
        assert_eq!(html_to_text("a\u{a0}\u{a0} b\t\tc\r\n d"), "a b c d");
        assert_eq!(html_to_text("<p> </p><p>\u{a0}</p><p>x</p>"), "x");
        assert_eq!(tidy_plain("About\n\u{a0}\nOutreach  is\u{a0} here \n\n"), Some("About\nOutreach is here".into()));
        assert_eq!(tidy_plain(" \u{a0}\n "), None);
    }

    #[test]
    fn drops_comments_scripts_and_styles() {
        let html = "<!DOCTYPE html><!-- hi <p>no</p> --><style>p{color:red}</style><SCRIPT type=x>if (a<b) {}</script >ok<?php x ?>";
        assert_eq!(html_to_text(html), "ok");
        assert_eq!(html_to_text("a<script>never closed"), "a");
        assert_eq!(html_to_text("<p>a</p><Script>x</sCrIpT ><p>b</p>"), "a\nb");
    }

    /// Found by fuzzing (tests/boards/fuzz.rs): every skipped element lowered the whole rest of the text, so 50,000
    /// scripts (a 5 MB description) took over eight minutes. The text between them is kept, whatever its length.
    #[test]
    fn many_skipped_elements_are_read_once() {
        let html = "<p>job</p><script>x</script>".repeat(50_000);
        let started = std::time::Instant::now();
        let text = html_to_text(&html);
        assert_eq!(text.lines().count(), 50_000);
        assert!(text.lines().all(|line| line == "job"));
        // A hang guard, not a speed figure: linear work takes milliseconds here.
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
    }

    #[test]
    fn survives_broken_markup() {
        assert_eq!(html_to_text("1 < 2 and 3 <= 4"), "1 < 2 and 3 <= 4");
        assert_eq!(html_to_text("a <p title='x>y'>b</p>"), "a\nb");
        assert_eq!(html_to_text("a <p title=\"unbalanced>b"), "a\nb");
        assert_eq!(html_to_text("a <p"), "a");
        assert_eq!(html_to_text("<"), "<");
        assert_eq!(html_to_text("</"), "</");
        assert_eq!(html_to_text("<!--"), "");
        assert_eq!(html_to_text("é<ü>ö</ü>"), "é<ü>ö</ü>");
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn table_cells_are_spaced() {
        assert_eq!(html_to_text("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>"), "a b\nc");
    }
}
