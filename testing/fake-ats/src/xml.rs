//! Just enough XML for the feeds the fake serves (Personio's positions, Teamtailor's RSS): a reader for loading
//! fixture files (elements, text, CDATA and entities; declarations, comments and attributes skipped) and the
//! escaping the writers need.

/// An element with its child elements and text, in document order.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub children: Vec<Node>,
}

#[derive(Debug)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|node| match node {
            Node::Element(element) => Some(element),
            Node::Text(_) => None,
        })
    }

    pub(crate) fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|element| element.name == name)
    }

    /// The element's own text (CDATA included), trimmed of the indentation around it.
    pub(crate) fn text(&self) -> String {
        let text: String = self
            .children
            .iter()
            .filter_map(|node| match node {
                Node::Text(text) => Some(text.as_str()),
                Node::Element(_) => None,
            })
            .collect();
        text.trim().to_owned()
    }
}

/// Parses a whole document and returns its root element.
pub(crate) fn parse(text: &str) -> Result<Element, String> {
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<![CDATA[") {
            let end = after.find("]]>").ok_or("a CDATA section is not closed")?;
            push_text(&mut stack, after.get(..end).unwrap_or_default().to_owned());
            rest = after.get(end + 3..).unwrap_or_default();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            let end = after.find("-->").ok_or("a comment is not closed")?;
            rest = after.get(end + 3..).unwrap_or_default();
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            let end = rest.find('>').ok_or("a declaration is not closed")?;
            rest = rest.get(end + 1..).unwrap_or_default();
        } else if let Some(after) = rest.strip_prefix("</") {
            let end = after.find('>').ok_or("a closing tag is not closed")?;
            let name = after.get(..end).unwrap_or_default().trim();
            let element = stack.pop().ok_or("unbalanced tags")?;
            if element.name != name || stack.is_empty() {
                return Err(format!("`</{name}>` closes `<{}>`", element.name));
            }
            if let Some(parent) = stack.last_mut() {
                parent.children.push(Node::Element(element));
            }
            rest = after.get(end + 1..).unwrap_or_default();
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = tag_end(after).ok_or("a tag is not closed")?;
            let tag = after.get(..end).unwrap_or_default();
            let (tag, empty) = match tag.strip_suffix('/') {
                Some(tag) => (tag, true),
                None => (tag, false),
            };
            let name = tag.split(|c: char| c.is_whitespace()).next().unwrap_or_default().to_owned();
            if name.is_empty() {
                return Err("a tag has no name".to_owned());
            }
            let element = Element { name, children: Vec::new() };
            if empty {
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Element(element));
                }
            } else {
                stack.push(element);
            }
            rest = after.get(end + 1..).unwrap_or_default();
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            push_text(&mut stack, unescape(rest.get(..end).unwrap_or_default()));
            rest = rest.get(end..).unwrap_or_default();
        }
    }
    let mut document = stack.pop().ok_or("unbalanced tags")?;
    if !stack.is_empty() {
        // What was popped is an element left open, not the document.
        return Err(format!("`<{}>` is not closed", document.name));
    }
    let mut roots = document.children.drain(..).filter_map(|node| match node {
        Node::Element(element) => Some(element),
        Node::Text(_) => None,
    });
    roots.next().ok_or_else(|| "the document has no element".to_owned())
}

/// The offset of the `>` ending a tag, past quoted attribute values.
fn tag_end(tag: &str) -> Option<usize> {
    let mut quote = None;
    for (at, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '>') => return Some(at),
            _ => {}
        }
    }
    None
}

fn push_text(stack: &mut [Element], text: String) {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(Node::Text(text));
    }
}

/// Decodes the predefined entities and character references.
pub(crate) fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let after = rest.get(at + 1..).unwrap_or_default();
        let decoded = after.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = after.get(..end)?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                _ => {
                    let number = name.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = after.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Escapes element text the way RSS writers do: `&`, `<` and `>` (quotes stay as they are).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text as PHP's `htmlspecialchars` with `ENT_QUOTES` does, as Personio's feed is written (`&#039;`).
pub(crate) fn escape_quotes(text: &str) -> String {
    escape(text).replace('"', "&quot;").replace('\'', "&#039;")
}

/// A CDATA section holding `text`; a `]]>` inside is split across two sections.
pub(crate) fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_text_cdata_and_entities() {
        let doc = "<?xml version='1.0'?>\n<!-- c --><a x=\"1>2\"><b>Acme &amp; Co &#039;s &#x41;</b><c/>\
                   <d>\n  <![CDATA[<p>x]]>\n</d></a>";
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "a");
        assert_eq!(root.child("b").unwrap().text(), "Acme & Co 's A");
        assert!(root.child("c").unwrap().children.is_empty());
        assert_eq!(root.child("d").unwrap().text(), "<p>x");
    }

    #[test]
    fn refuses_broken_documents() {
        for doc in ["<a><b></a>", "<a>", "<a><![CDATA[x</a>", "text only"] {
            assert!(parse(doc).is_err(), "{doc}");
        }
    }

    #[test]
    fn written_text_reads_back() {
        let text = "Tom's <b>\"R&D\"</b> ]]> end";
        let doc = format!("<r><e>{}</e><f>{}</f><g>{}</g></r>", escape(text), escape_quotes(text), cdata(text));
        let root = parse(&doc).unwrap();
        for name in ["e", "f", "g"] {
            assert_eq!(root.child(name).unwrap().text(), text, "{name}");
        }
    }
}
