//! XML feeds (Personio's, Teamtailor's RSS) turned into JSON values, so that their items are stored, hashed and
//! normalised as every other board's: an element with child elements becomes an object keyed by the children's local
//! names (a name repeated becomes an array, in order), any other element its trimmed text (CDATA included). Attributes
//! are left out. Documents with a DTD are refused (no entity expansion).

use serde_json::{Map, Value};

use crate::ExtractError;

/// Parses `body` as XML and returns its root element's local name and the JSON value of every child element of the
/// root's child named `container` (or of the root itself when `container` is `None`) whose local name is `item`.
pub(crate) fn items(
    what: &str,
    body: &[u8],
    root: &str,
    container: Option<&str>,
    item: &str,
) -> Result<Vec<Value>, ExtractError> {
    let text = std::str::from_utf8(body).map_err(|e| ExtractError::malformed(what, format!("is not UTF-8: {e}")))?;
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| ExtractError::malformed(what, format!("is not well-formed XML: {e}")))?;
    let top = doc.root_element();
    if top.tag_name().name() != root {
        return Err(ExtractError::malformed(what, format!("has a <{}> document, not <{root}>", top.tag_name().name())));
    }
    let parent = match container {
        None => Some(top),
        Some(name) => top.children().find(|n| n.is_element() && n.tag_name().name() == name),
    };
    let Some(parent) = parent else {
        return Err(ExtractError::malformed(what, format!("has no <{}>", container.unwrap_or(root))));
    };
    Ok(parent.children().filter(|n| n.is_element() && n.tag_name().name() == item).map(value).collect())
}

/// The JSON value of an element (see the module's comment).
fn value(node: roxmltree::Node<'_, '_>) -> Value {
    let children: Vec<_> = node.children().filter(roxmltree::Node::is_element).collect();
    if children.is_empty() {
        let text: String = node.descendants().filter(roxmltree::Node::is_text).filter_map(|n| n.text()).collect();
        return Value::String(text.trim().to_owned());
    }
    let mut object = Map::new();
    for child in children {
        let name = child.tag_name().name().to_owned();
        let item = value(child);
        match object.get_mut(&name) {
            None => {
                object.insert(name, item);
            }
            Some(Value::Array(list)) => list.push(item),
            Some(first) => {
                let earlier = first.take();
                *first = Value::Array(vec![earlier, item]);
            }
        }
    }
    Value::Object(object)
}

/// Whether a body that should be a feed is a web page (an HTML document): what a board answers where a feed is
/// switched off or missing.
pub(crate) fn is_web_page(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    head.contains("<html") || head.contains("<!doctype html")
}

/// The values a feed holds once or repeated: an array's items, nothing for an empty string or null, else the value.
pub(crate) fn many(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.trim().is_empty() => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn elements_become_objects_and_repeats_arrays() -> Result<(), ExtractError> {
        let xml = br#"<?xml version='1.0'?><feed><list><job><id> 7 </id><tag>a</tag><tag>b</tag>
            <body><![CDATA[<p>x &amp; y</p>]]></body><empty/><nested><x:office xmlns:x="urn:x">Berlin</x:office></nested>
            </job><other/></list></feed>"#;
        let items = items("feed", xml, "feed", Some("list"), "job")?;
        assert_eq!(
            items,
            [json!({"id": "7", "tag": ["a", "b"], "body": "<p>x &amp; y</p>", "empty": "",
                "nested": {"office": "Berlin"}})]
        );
        assert_eq!(many(items[0].get("tag")).len(), 2);
        assert_eq!(many(items[0].get("empty")).len(), 0);
        assert_eq!(many(items[0].get("nested")).len(), 1);
        Ok(())
    }

    #[test]
    fn other_documents_are_named() {
        let err = |body: &[u8]| items("feed", body, "feed", None, "job").err().map(|e| e.to_string());
        assert_eq!(err(b"<html><body>gone</body></html>").as_deref(), Some("feed has a <html> document, not <feed>"));
        assert!(err(b"<feed><job>").is_some_and(|e| e.starts_with("feed is not well-formed XML")));
        let dtd = br#"<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed><job>&a;</job></feed>"#;
        assert!(err(dtd).is_some_and(|e| e.starts_with("feed is not well-formed XML")), "{:?}", err(dtd));
        assert!(err(&[0xff, 0xfe]).is_some_and(|e| e.contains("is not UTF-8")));
    }
}
