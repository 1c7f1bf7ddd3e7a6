//! Helpers shared by the integration tests.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, ensure};
use bw_fake_ats::{FakeAts, FakeAtsServer, Kind};
use serde_json::Value;

pub struct Harness {
    pub fake: FakeAts,
    pub server: FakeAtsServer,
    pub client: reqwest::Client,
}

impl Harness {
    pub async fn start() -> anyhow::Result<Harness> {
        let fake = FakeAts::new();
        let server = fake.serve(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build()?;
        Ok(Harness { fake, server, client })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url)
    }

    /// Status, content type and body of a GET.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, String, String)> {
        let response = self.client.get(self.url(path)).send().await.with_context(|| format!("GET {path}"))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok((status, content_type, response.text().await?))
    }

    /// A GET that must answer 200 with JSON.
    pub async fn json(&self, path: &str) -> anyhow::Result<Value> {
        let (status, content_type, body) = self.get(path).await?;
        ensure!(status == 200, "GET {path}: status {status}: {body}");
        ensure!(content_type.starts_with("application/json"), "GET {path}: content type {content_type}");
        serde_json::from_str(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// A control request: method, path and raw body; answers status and JSON.
    pub async fn control(&self, method: reqwest::Method, path: &str, body: &str) -> anyhow::Result<(u16, Value)> {
        let response = self.client.request(method, self.url(path)).body(body.to_owned()).send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let value = serde_json::from_str(&text).with_context(|| format!("{path}: not JSON: {text}"))?;
        Ok((status, value))
    }
}

pub fn fixture(path: &str) -> anyhow::Result<String> {
    let full = format!("{}/../../tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).with_context(|| format!("reading {full}"))
}

pub fn fixture_json(path: &str) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&fixture(path)?)?)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(number) if number.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of the real `template` item is in `item` with the same JSON type (nulls match anything), nested
/// objects included; keys in `optional` (dotted paths) may be missing.
pub fn same_shape(template: &Value, item: &Value, optional: &[&str]) -> anyhow::Result<()> {
    shape_at(template, item, "", optional)
}

fn shape_at(template: &Value, item: &Value, path: &str, optional: &[&str]) -> anyhow::Result<()> {
    let (Value::Object(template), Value::Object(item)) = (template, item) else {
        ensure!(template.is_null() || item.is_null() || type_name(template) == type_name(item), "{path}: type");
        return Ok(());
    };
    for (key, expected) in template {
        let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
        let Some(actual) = item.get(key) else {
            ensure!(optional.contains(&at.as_str()), "missing `{at}`");
            continue;
        };
        if expected.is_null() || actual.is_null() {
            continue;
        }
        ensure!(
            type_name(expected) == type_name(actual),
            "`{at}` is {} where the real API sends {}",
            type_name(actual),
            type_name(expected)
        );
        shape_at(expected, actual, &at, optional)?;
    }
    Ok(())
}

/// Contents of the `<script type="application/ld+json">` elements of a page.
pub fn ld_json(html: &str) -> Vec<&str> {
    let open = "<script type=\"application/ld+json\">";
    html.split(open).skip(1).filter_map(|rest| rest.split("</script>").next()).collect()
}

/// Sorted top-level keys of a JSON object.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().map(|map| map.keys().cloned().collect()).unwrap_or_default();
    keys.sort();
    keys
}

impl Harness {
    /// A POST of a JSON body: status, content type and body.
    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<(u16, String, String)> {
        let response =
            self.client.post(self.url(path)).json(body).send().await.with_context(|| format!("POST {path}"))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok((status, content_type, response.text().await?))
    }

    /// The first list page of a board of one of the seven newer kinds, as a client asks for it.
    pub async fn list(&self, kind: Kind, token: &str) -> anyhow::Result<(u16, String, String)> {
        let url = self.server.board_url(kind, token);
        let path = url.strip_prefix(&self.server.base_url).context("board URL on the fake")?.to_owned();
        if kind == Kind::Workday {
            return self.post_json(&path, &workday_search(0, &serde_json::json!({}))).await;
        }
        self.get(&path).await
    }
}

/// A Workday search body.
pub fn workday_search(offset: usize, facets: &Value) -> Value {
    serde_json::json!({ "appliedFacets": facets, "limit": 20, "offset": offset, "searchText": "" })
}

/// The (id, title) of each listing in a list answer of one of the seven newer kinds, in order (repeats kept).
pub fn listings(kind: Kind, body: &str) -> anyhow::Result<Vec<(String, String)>> {
    let pairs = |items: &Value, id: &str, title: &str| -> anyhow::Result<Vec<(String, String)>> {
        let items = items.as_array().context("items array")?;
        items
            .iter()
            .map(|item| {
                let id = match &item[id] {
                    Value::String(id) => id.clone(),
                    Value::Number(id) => id.to_string(),
                    other => anyhow::bail!("id {other}"),
                };
                Ok((id, item[title].as_str().context("title")?.to_owned()))
            })
            .collect()
    };
    match kind {
        Kind::Personio => {
            let root = xml::parse(body)?;
            ensure!(root.name == "workzag-jobs", "root {}", root.name);
            Ok(root.all("position").map(|position| (position.text_of("id"), position.text_of("name"))).collect())
        }
        _ => {
            let value: Value = serde_json::from_str(body).context("list answer is not JSON")?;
            match kind {
                Kind::Workday => pairs(&value["jobPostings"], "externalPath", "title"),
                Kind::Workable => pairs(&value["jobs"], "shortcode", "title"),
                Kind::Smartrecruiters => pairs(&value["content"], "id", "name"),
                Kind::Teamtailor => pairs(&value["items"], "id", "title"),
                Kind::Recruitee => pairs(&value["offers"], "id", "title"),
                Kind::Bamboohr => pairs(&value["result"], "id", "jobOpeningName"),
                _ => anyhow::bail!("{kind} is not one of the newer kinds"),
            }
        }
    }
}

/// The seven kinds added with the fake's second set of boards, with a token of the form each takes.
pub const NEWER: [(Kind, &str); 7] = [
    (Kind::Workday, "acme.Careers"),
    (Kind::Workable, "acme"),
    (Kind::Smartrecruiters, "Acme"),
    (Kind::Teamtailor, "acme"),
    (Kind::Recruitee, "acme"),
    (Kind::Personio, "acme"),
    (Kind::Bamboohr, "acme"),
];

/// A strict little XML reader for checking the feeds the fake writes (independent of the fake's own).
pub mod xml {
    use anyhow::{bail, ensure};

    #[derive(Debug, Default)]
    pub struct Element {
        pub name: String,
        pub children: Vec<Element>,
        /// Text and CDATA, entities decoded, untrimmed.
        pub text: String,
    }

    impl Element {
        pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
            self.children.iter().filter(move |child| child.name == name)
        }

        pub fn child(&self, name: &str) -> Option<&Element> {
            self.children.iter().find(|child| child.name == name)
        }

        /// A child's trimmed text, empty if it is missing.
        pub fn text_of(&self, name: &str) -> String {
            self.child(name).map(|child| child.text.trim().to_owned()).unwrap_or_default()
        }
    }

    fn entity(name: &str) -> anyhow::Result<char> {
        Ok(match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => match name.strip_prefix("#x") {
                Some(hex) => char::from_u32(u32::from_str_radix(hex, 16)?).unwrap_or('?'),
                None => char::from_u32(name.strip_prefix('#').unwrap_or(name).parse()?).unwrap_or('?'),
            },
        })
    }

    /// Parses a document with one root element; any unbalanced tag or bad entity is an error.
    pub fn parse(document: &str) -> anyhow::Result<Element> {
        let mut stack = vec![Element::default()];
        let mut rest = document;
        while let Some(at) = rest.find(['<', '&']) {
            let (text, after) = rest.split_at(at);
            if let Some(top) = stack.last_mut() {
                top.text.push_str(text);
            }
            if let Some(reference) = after.strip_prefix('&') {
                let end = reference.find(';').filter(|end| *end < 10);
                let Some(end) = end else { bail!("a bare & in text") };
                let c = entity(&reference[..end])?;
                if let Some(top) = stack.last_mut() {
                    top.text.push(c);
                }
                rest = &reference[end + 1..];
            } else if let Some(cdata) = after.strip_prefix("<![CDATA[") {
                let end = cdata.find("]]>").ok_or_else(|| anyhow::anyhow!("open CDATA"))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&cdata[..end]);
                }
                rest = &cdata[end + 3..];
            } else if after.starts_with("<?") || after.starts_with("<!") {
                rest = &after[after.find('>').ok_or_else(|| anyhow::anyhow!("open declaration"))? + 1..];
            } else if let Some(close) = after.strip_prefix("</") {
                let end = close.find('>').ok_or_else(|| anyhow::anyhow!("open closing tag"))?;
                let element = stack.pop().ok_or_else(|| anyhow::anyhow!("unbalanced"))?;
                ensure!(
                    element.name == close[..end].trim() && !stack.is_empty(),
                    "</{}> closes <{}>",
                    &close[..end],
                    element.name
                );
                if let Some(top) = stack.last_mut() {
                    top.children.push(element);
                }
                rest = &close[end + 1..];
            } else {
                let end = after.find('>').ok_or_else(|| anyhow::anyhow!("open tag"))?;
                let tag = &after[1..end];
                let (tag, empty) = tag.strip_suffix('/').map_or((tag, false), |tag| (tag, true));
                let name = tag.split_whitespace().next().unwrap_or_default().to_owned();
                ensure!(!name.is_empty(), "a tag without a name");
                let element = Element { name, ..Element::default() };
                if empty {
                    if let Some(top) = stack.last_mut() {
                        top.children.push(element);
                    }
                } else {
                    stack.push(element);
                }
                rest = &after[end + 1..];
            }
        }
        ensure!(stack.len() == 1, "unclosed <{}>", stack.last().map(|e| e.name.as_str()).unwrap_or_default());
        ensure!(rest.trim().is_empty(), "text after the root");
        let mut document = stack.pop().unwrap_or_default();
        ensure!(document.children.len() == 1, "{} root elements", document.children.len());
        Ok(document.children.remove(0))
    }
}
