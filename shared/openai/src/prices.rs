//! What screening costs: a price table (US dollars per million tokens: input, cached input, output) by model, read
//! by the worker to estimate each item's cost from its usage. Reasoning tokens are output tokens and priced as such;
//! cached input tokens are part of the input and priced at the cached rate. Batch requests cost the batch discount
//! less (OpenAI: half).
//!
//! The defaults are OpenAI's published standard prices for the models this system is likely to be asked to use;
//! operators replace or add models with `LLM_PRICES` (JSON) and set the discount with `LLM_BATCH_DISCOUNT`. A
//! dated snapshot (`gpt-4.1-nano-2025-04-14`) is priced as its model; a model the table lacks has no estimate
//! (counted, never guessed).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Usage;

/// A model's prices, US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: f64,
    /// Input tokens served from the prompt cache; the input price when not given.
    #[serde(default)]
    pub cached_input: Option<f64>,
    pub output: f64,
}

/// Prices by model, and the batch discount.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable {
    models: BTreeMap<String, Price>,
    /// The fraction batch requests cost less (0.5: half price).
    batch_discount: f64,
}

/// OpenAI's published standard prices (USD per million tokens: input, cached input, output).
const DEFAULTS: [(&str, f64, f64, f64); 12] = [
    ("gpt-4.1", 2.00, 0.50, 8.00),
    ("gpt-4.1-mini", 0.40, 0.10, 1.60),
    ("gpt-4.1-nano", 0.10, 0.025, 0.40),
    ("gpt-4o", 2.50, 1.25, 10.00),
    ("gpt-4o-mini", 0.15, 0.075, 0.60),
    ("gpt-5", 1.25, 0.125, 10.00),
    ("gpt-5-mini", 0.25, 0.025, 2.00),
    ("gpt-5-nano", 0.05, 0.005, 0.40),
    ("o3", 2.00, 0.50, 8.00),
    ("o3-mini", 1.10, 0.55, 4.40),
    ("o4-mini", 1.10, 0.275, 4.40),
    ("o1", 15.00, 7.50, 60.00),
];

/// OpenAI's Batch API discount.
pub const BATCH_DISCOUNT: f64 = 0.5;

/// Why a price table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("not a JSON object of models to {{\"input\", \"cached_input\", \"output\"}} (USD per million tokens): {0}")]
    Json(String),
    #[error("model {0:?}: prices must be finite and not negative")]
    Negative(String),
    #[error("the batch discount {0} is not between 0 and 1")]
    Discount(String),
}

impl Default for PriceTable {
    fn default() -> Self {
        let models = DEFAULTS
            .iter()
            .map(|&(model, input, cached, output)| {
                (model.to_owned(), Price { input, cached_input: Some(cached), output })
            })
            .collect();
        Self { models, batch_discount: BATCH_DISCOUNT }
    }
}

impl PriceTable {
    /// The defaults with `json` (`{"model": {"input": 0.1, "cached_input": 0.025, "output": 0.4}, ...}`) laid over
    /// them, and `batch_discount`.
    pub fn with(json: Option<&str>, batch_discount: f64) -> Result<Self, PriceError> {
        if !(0.0..=1.0).contains(&batch_discount) {
            return Err(PriceError::Discount(batch_discount.to_string()));
        }
        let mut table = Self { batch_discount, ..Self::default() };
        let Some(json) = json.map(str::trim).filter(|j| !j.is_empty()) else { return Ok(table) };
        let given: BTreeMap<String, Price> = serde_json::from_str(json).map_err(|e| PriceError::Json(e.to_string()))?;
        for (model, price) in given {
            let prices = [Some(price.input), price.cached_input, Some(price.output)];
            if prices.into_iter().flatten().any(|p| !p.is_finite() || p < 0.0) {
                return Err(PriceError::Negative(model));
            }
            table.models.insert(model.trim().to_owned(), price);
        }
        Ok(table)
    }

    /// The price of `model`: its own entry, or for a dated snapshot (`gpt-4.1-nano-2025-04-14`) its model's. Nothing
    /// else is inferred: `o1-mini` is not `o1`, nor `gpt-5-pro` `gpt-5`.
    pub fn price(&self, model: &str) -> Option<&Price> {
        let model = model.trim();
        self.models.get(model).or_else(|| self.models.get(undated(model)?))
    }

    /// The estimated cost in US dollars of `usage` on `model` (a batch request when `batch`); `None` when the table
    /// has no price for the model.
    pub fn cost(&self, model: &str, batch: bool, usage: &Usage) -> Option<f64> {
        let cached = usage.input_tokens_details.as_ref().map_or(0, |d| d.cached_tokens);
        self.cost_of(model, batch, usage.input_tokens, cached, usage.output_tokens)
    }

    /// [`Self::cost`] of `input` tokens (`cached` of them from the cache) and `output` tokens.
    pub fn cost_of(&self, model: &str, batch: bool, input: u64, cached: u64, output: u64) -> Option<f64> {
        let price = self.price(model)?;
        let cached = cached.min(input);
        let dollars = ((input - cached) as f64 * price.input
            + cached as f64 * price.cached_input.unwrap_or(price.input)
            + output as f64 * price.output)
            / 1e6;
        Some(if batch { dollars * (1.0 - self.batch_discount) } else { dollars })
    }
}

/// `model` without a `-YYYY-MM-DD` snapshot suffix, when it has one.
fn undated(model: &str) -> Option<&str> {
    let (name, date) = model.split_at_checked(model.len().checked_sub(11)?)?;
    let date = date.strip_prefix('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = date.split('-').collect();
    let dated = matches!(parts.as_slice(), [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2
        && digits(y) && digits(m) && digits(d));
    dated.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{InputTokensDetails, OutputTokensDetails};

    fn usage(input: u64, cached: u64, output: u64, reasoning: u64) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
            total_tokens: input + output,
            input_tokens_details: Some(InputTokensDetails { cached_tokens: cached }),
            output_tokens_details: Some(OutputTokensDetails { reasoning_tokens: reasoning }),
        }
    }

    #[test]
    fn cached_input_has_its_own_price_reasoning_is_output_and_a_batch_costs_half() {
        let table = PriceTable::default();
        // gpt-4.1-nano: 1M fresh input at 0.10, 1M cached at 0.025, 1M output (half of it reasoning) at 0.40.
        let u = usage(2_000_000, 1_000_000, 1_000_000, 500_000);
        let cost = table.cost("gpt-4.1-nano", false, &u).unwrap_or(f64::NAN);
        assert!((cost - 0.525).abs() < 1e-9, "{cost}");
        let batch = table.cost("gpt-4.1-nano", true, &u).unwrap_or(f64::NAN);
        assert!((batch - 0.2625).abs() < 1e-9, "{batch}");
    }

    #[test]
    fn a_dated_snapshot_is_priced_as_its_model_and_an_unknown_model_not_at_all() {
        let table = PriceTable::default();
        assert_eq!(table.price("gpt-4.1-nano-2025-04-14"), table.price("gpt-4.1-nano"));
        assert_eq!(table.price("gpt-4.1-2025-04-14"), table.price("gpt-4.1"), "not gpt-4.1-nano's");
        assert!(table.price("gpt-4.1x").is_none());
        assert!(table.price("o1-mini").is_none(), "not priced as o1");
        assert!(table.price("gpt-5-pro").is_none(), "not priced as gpt-5");
        assert!(table.price("gpt-4.1-nano-2025-4-14").is_none(), "not a snapshot date");
        assert!(table.cost("my-finetune", false, &usage(10, 0, 10, 0)).is_none());
    }

    #[test]
    fn operators_add_and_replace_prices_and_bad_ones_are_named() -> Result<(), PriceError> {
        let table = PriceTable::with(
            Some(r#"{"my-model": {"input": 1, "output": 2}, "gpt-4.1-nano": {"input": 0.2, "output": 0.8}}"#),
            0.0,
        )?;
        let cost = table.cost("my-model", true, &usage(1_000_000, 500_000, 1_000_000, 0)).unwrap_or(f64::NAN);
        assert!((cost - 3.0).abs() < 1e-9, "no cached price: the input price; no discount: {cost}");
        assert_eq!(table.price("gpt-4.1-nano").map(|p| p.input), Some(0.2));
        assert_eq!(table.price("gpt-4o").map(|p| p.output), Some(10.0), "the other defaults stay");
        let bad = |json: &str, discount: f64| PriceTable::with(Some(json), discount).err().map(|e| e.to_string());
        assert!(bad(r#"{"m": {"input": -1, "output": 1}}"#, 0.5).is_some_and(|e| e.contains("\"m\"")));
        assert!(bad(r#"{"m": {"input": 1}}"#, 0.5).is_some_and(|e| e.contains("output")));
        assert!(bad(r#"{"m": {"input": 1, "output": 1, "cache": 1}}"#, 0.5).is_some_and(|e| e.contains("cache")));
        assert!(bad("{}", 1.5).is_some_and(|e| e.contains("1.5")));
        Ok(())
    }
}
