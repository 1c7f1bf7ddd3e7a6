//! Lenient field readers shared by the OpenAI object types.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A timestamp as epoch seconds. The real API sends integers; one documented example sends ISO 8601 strings, and a
/// float is accepted too. Null or absent gives `None`; anything else is an error naming the value's type.
pub(crate) fn epoch_seconds<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(de)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f.trunc() as i64))
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("timestamp {n} is not a number of seconds"))),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.timestamp()))
            .or_else(|_| s.trim().parse::<i64>().map(Some))
            .map_err(|_| serde::de::Error::custom(format!("timestamp {s:?} is neither epoch seconds nor RFC 3339"))),
        Some(other) => Err(serde::de::Error::custom(format!("timestamp is a {}, not a number", type_name(&other)))),
    }
}

/// `T::default()` when the field is null (serde's `default` covers only an absent field).
pub(crate) fn null_as_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Epoch seconds as a UTC time, when in range.
pub(crate) fn to_utc(seconds: Option<i64>) -> Option<DateTime<Utc>> {
    seconds.and_then(|s| DateTime::from_timestamp(s, 0))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "epoch_seconds")]
        at: Option<i64>,
        #[serde(default, deserialize_with = "null_as_default")]
        list: Vec<u8>,
    }

    #[test]
    fn timestamps_in_every_shape() -> Result<(), serde_json::Error> {
        assert_eq!(serde_json::from_str::<T>(r#"{"at": 1770757617}"#)?.at, Some(1_770_757_617));
        assert_eq!(serde_json::from_str::<T>(r#"{"at": 1770757617.9}"#)?.at, Some(1_770_757_617));
        assert_eq!(serde_json::from_str::<T>(r#"{"at": "2021-01-01T00:00:00Z"}"#)?.at, Some(1_609_459_200));
        assert_eq!(serde_json::from_str::<T>(r#"{"at": null}"#)?.at, None);
        assert_eq!(serde_json::from_str::<T>(r#"{}"#)?.at, None);
        let err = serde_json::from_str::<T>(r#"{"at": "yesterday"}"#).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("yesterday")));
        Ok(())
    }

    #[test]
    fn null_list_is_empty() -> Result<(), serde_json::Error> {
        assert!(serde_json::from_str::<T>(r#"{"list": null}"#)?.list.is_empty());
        assert_eq!(serde_json::from_str::<T>(r#"{"list": [1]}"#)?.list, vec![1]);
        Ok(())
    }
}
