//! The languages shiftdesk serves, as they appear on the wire: ISO 639-1 codes.
//!
//! Detection (which language a customer writes in) is the hub's business; this module only names
//! the languages and parses their codes, so that every crate agrees on them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A language the hub can serve a customer in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    It,
    De,
    Nl,
    Sv,
    Ru,
}

impl Lang {
    /// Every supported language, in a stable order (used for iteration and error messages).
    pub const ALL: [Lang; 6] = [Lang::En, Lang::It, Lang::De, Lang::Nl, Lang::Sv, Lang::Ru];

    /// ISO 639-1 code, as used on the wire and in asset files: `"en"`, `"it"`, ...
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::It => "it",
            Lang::De => "de",
            Lang::Nl => "nl",
            Lang::Sv => "sv",
            Lang::Ru => "ru",
        }
    }

    /// Parse a language code, ignoring case and any region or script subtag, so that what a
    /// browser or a config file says (`"EN"`, `"en-GB"`, `"sv_SE"`) is accepted.
    pub fn from_code(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next().unwrap_or_default();
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(primary))
    }

    /// The language's name in itself, for pickers shown to people who speak it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::It => "Italiano",
            Lang::De => "Deutsch",
            Lang::Nl => "Nederlands",
            Lang::Sv => "Svenska",
            Lang::Ru => "Русский",
        }
    }

    /// The language's name in English, for prompts to a language model ("write in Russian").
    pub fn english_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::It => "Italian",
            Lang::De => "German",
            Lang::Nl => "Dutch",
            Lang::Sv => "Swedish",
            Lang::Ru => "Russian",
        }
    }

    /// Position in [`Lang::ALL`], for tables indexed by language.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a string is not a supported language code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLang {
    /// What was given, as given.
    pub given: String,
}

impl fmt::Display for UnknownLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unsupported language {:?}; supported: en, it, de, nl, sv, ru",
            self.given
        )
    }
}

impl std::error::Error for UnknownLang {}

impl FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lang::from_code(s).ok_or_else(|| UnknownLang {
            given: s.to_string(),
        })
    }
}
