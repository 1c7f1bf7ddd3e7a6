//! Reading a JSON listing one item at a time: the board's array is walked element by element, each handed on and
//! dropped before the next is read, so memory holds one item, not the board (Greenhouse and Ashby list their jobs
//! under `"jobs"`, Lever sends a bare array).

use std::fmt;
use std::io::Read;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::error::Category;

use crate::ExtractError;

/// Where a listing's items are in its document.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Items {
    /// The document is an array of items.
    Bare,
    /// The items are the array under this key of the document's object.
    Under(&'static str),
}

/// What a listing's document is called in errors, and where its items are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shape {
    pub what: &'static str,
    pub items: Items,
}

impl Shape {
    /// The reason a document of the wrong shape is refused.
    fn wrong(self) -> ExtractError {
        match self.items {
            Items::Bare => ExtractError::malformed(self.what, "is not a JSON array"),
            Items::Under(key) => ExtractError::malformed(self.what, format!("has no {key:?} array")),
        }
    }
}

/// Calls `each(index, item)` for every item of the listing read from `reader`, in order, then checks that nothing
/// but whitespace follows the document. Stops at the first error `each` returns, and returns it.
pub(crate) fn each_item<R: Read>(
    shape: Shape,
    reader: R,
    mut each: impl FnMut(usize, Value) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    let mut stopped = None;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let walked = Document { shape, each: &mut each, stopped: &mut stopped }.deserialize(&mut de).and_then(|found| {
        de.end()?;
        Ok(found)
    });
    if let Some(error) = stopped {
        return Err(error);
    }
    match walked {
        Ok(true) => Ok(()),
        Ok(false) => Err(shape.wrong()),
        Err(e) if e.classify() == Category::Data => Err(shape.wrong()),
        Err(e) => Err(ExtractError::malformed(shape.what, format!("is not valid JSON: {e}"))),
    }
}

/// The document: an array of items, or an object with one; answers whether the items were found.
struct Document<'a, F> {
    shape: Shape,
    each: &'a mut F,
    stopped: &'a mut Option<ExtractError>,
}

impl<'de, F: FnMut(usize, Value) -> Result<(), ExtractError>> DeserializeSeed<'de> for Document<'_, F> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        match self.shape.items {
            Items::Bare => Array { each: self.each, stopped: self.stopped }.deserialize(deserializer).map(|()| true),
            Items::Under(_) => deserializer.deserialize_map(self),
        }
    }
}

impl<'de, F: FnMut(usize, Value) -> Result<(), ExtractError>> Visitor<'de> for Document<'_, F> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let Items::Under(key) = self.shape.items else { return Ok(false) };
        let mut found = false;
        while let Some(name) = map.next_key::<String>()? {
            if name == key && !found {
                map.next_value_seed(Array { each: &mut *self.each, stopped: &mut *self.stopped })?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The items' array, each element handed to `each` as soon as it is read.
struct Array<'a, F> {
    each: &'a mut F,
    stopped: &'a mut Option<ExtractError>,
}

impl<'de, F: FnMut(usize, Value) -> Result<(), ExtractError>> DeserializeSeed<'de> for Array<'_, F> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(usize, Value) -> Result<(), ExtractError>> Visitor<'de> for Array<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of postings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(item) = seq.next_element::<Value>()? {
            if let Err(error) = (self.each)(index, item) {
                *self.stopped = Some(error);
                return Err(de::Error::custom("stopped"));
            }
            index += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOBS: Shape = Shape { what: "test listing", items: Items::Under("jobs") };
    const BARE: Shape = Shape { what: "test listing", items: Items::Bare };

    fn ids(shape: Shape, body: &str) -> Result<Vec<String>, String> {
        let mut seen = Vec::new();
        each_item(shape, body.as_bytes(), |i, item| {
            seen.push(format!("{i}:{}", item["id"]));
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        Ok(seen)
    }

    #[test]
    fn items_come_in_order_whatever_surrounds_them() {
        let body = r#"{"meta": {"jobs": 3}, "jobs": [{"id": 1}, {"id": "b", "jobs": []}], "after": [1, {"x": null}]}"#;
        assert_eq!(ids(JOBS, body), Ok(vec!["0:1".to_owned(), "1:\"b\"".to_owned()]));
        assert_eq!(ids(BARE, " [{\"id\": 7}] \n"), Ok(vec!["0:7".to_owned()]));
        assert_eq!(ids(JOBS, r#"{"jobs": []}"#), Ok(vec![]));
    }

    #[test]
    fn a_document_of_another_shape_is_named() {
        for body in [r#"{"apiVersion": "1"}"#, r#"{"jobs": {"id": 1}}"#, r#"{"jobs": null}"#, "[]", "\"jobs\""] {
            assert_eq!(ids(JOBS, body), Err("test listing has no \"jobs\" array".to_owned()), "{body}");
        }
        for body in [r#"{"ok": false}"#, "3", "null"] {
            assert_eq!(ids(BARE, body), Err("test listing is not a JSON array".to_owned()), "{body}");
        }
    }

    #[test]
    fn broken_json_is_named_with_its_place() {
        let cut = ids(JOBS, r#"{"jobs": [{"id": 1}, {"id": 2"#).err().unwrap_or_default();
        assert!(cut.starts_with("test listing is not valid JSON: EOF while parsing"), "{cut}");
        let trailing = ids(BARE, "[] x").err().unwrap_or_default();
        assert!(trailing.starts_with("test listing is not valid JSON: trailing characters"), "{trailing}");
        let bad = ids(JOBS, "<html>").err().unwrap_or_default();
        assert!(bad.starts_with("test listing is not valid JSON: expected value"), "{bad}");
    }

    #[test]
    fn the_first_error_of_an_item_stops_the_walk() {
        let mut calls = 0;
        let result = each_item(BARE, "[1, 2, 3]".as_bytes(), |i, _| {
            calls += 1;
            if i == 1 { Err(ExtractError::malformed("item 1", "is bad")) } else { Ok(()) }
        });
        assert_eq!(result.map_err(|e| e.to_string()), Err("item 1 is bad".to_owned()));
        assert_eq!(calls, 2);
    }
}
