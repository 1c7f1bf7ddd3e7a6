//! The [`vocabulary!`] macro: one list of words becomes an enum with every mapping it needs.

/// A word that is not one of its type's: names the type, the word and the words expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}: expected one of {expected}")]
pub struct Unknown {
    /// What the word was meant to be, e.g. `run status`.
    pub what: &'static str,
    /// The word given.
    pub value: String,
    /// The words of the type, comma-separated.
    pub expected: String,
}

/// Declares `enum Name { Variant => "word", … }` with `ALL` (in the order given), `as_str`, `Display`, a `FromStr`
/// that ignores surrounding whitespace and ASCII case, an exact serde form, and behind features the diesel
/// (`text`) and utoipa (a string enum schema) mappings.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident : $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "diesel", derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow))]
        #[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every word, in lifecycle (or declaration) order.
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            /// The word as stored and answered.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $word ),+
                }
            }

            /// The word spelt exactly as [`as_str`](Self::as_str) spells it.
            pub fn exact(text: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|w| w.as_str() == text)
            }

            fn unknown(text: &str) -> $crate::Unknown {
                $crate::Unknown {
                    what: $what,
                    value: text.to_owned(),
                    expected: Self::ALL.map(Self::as_str).join(", "),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Unknown;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim();
                Self::ALL
                    .into_iter()
                    .find(|w| w.as_str().eq_ignore_ascii_case(wanted))
                    .ok_or_else(|| Self::unknown(s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::exact(&text).ok_or_else(|| ::serde::de::Error::custom(Self::unknown(&text)))
            }
        }

        #[cfg(feature = "diesel")]
        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(self.as_str(), out)
            }
        }

        #[cfg(feature = "diesel")]
        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Self::exact(&text).ok_or_else(|| Self::unknown(&text).into())
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::ALL.map(Self::as_str)))
                    .into()
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::ToSchema for $name {
            fn name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    };
}

pub(crate) use vocabulary;
