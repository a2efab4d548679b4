//! Languages as they appear on the wire: ISO 639 codes (`"en"`, `"it"`, `"pl"`).
//!
//! Six languages are built in (English, Italian, German, Dutch, Swedish, Russian); a hub can
//! load more from files (see the hub's `languages` module), so a [`Lang`] is any well-formed
//! code, not a closed list. Whether a hub *serves* a language is the hub's business: it refuses
//! what it has not loaded. Detection (which language a customer writes in) is the hub's too;
//! this module only names languages and parses their codes, so that every crate agrees on them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A language, by its ISO 639-1 code (two letters) or, where a language has none, its ISO 639-3
/// code (three letters). Lowercase ASCII, compared and ordered by code; `Copy`, like a number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lang([u8; 3]);

#[allow(non_upper_case_globals)]
impl Lang {
    pub const En: Lang = Lang(*b"en\0");
    pub const It: Lang = Lang(*b"it\0");
    pub const De: Lang = Lang(*b"de\0");
    pub const Nl: Lang = Lang(*b"nl\0");
    pub const Sv: Lang = Lang(*b"sv\0");
    pub const Ru: Lang = Lang(*b"ru\0");

    /// The built-in languages, in a stable order (used for iteration and error messages). A hub
    /// may serve more (loaded from language files).
    pub const ALL: [Lang; 6] = [Lang::En, Lang::It, Lang::De, Lang::Nl, Lang::Sv, Lang::Ru];

    /// The code, as used on the wire and in file names: `"en"`, `"pl"`, `"fil"`.
    pub fn code(&self) -> &str {
        let len = if self.0[2] == 0 { 2 } else { 3 };
        // Only ASCII letters are ever stored (see `from_code`).
        std::str::from_utf8(&self.0[..len]).unwrap_or("??")
    }

    /// Parse a language code, ignoring case and any region or script subtag, so that what a
    /// browser or a config file says (`"EN"`, `"en-GB"`, `"sv_SE"`, `"pl-PL"`) is accepted. Any
    /// code of two or three ASCII letters is a language; `None` for anything else.
    pub fn from_code(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next().unwrap_or_default();
        let bytes = primary.as_bytes();
        if !(2..=3).contains(&bytes.len()) || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let mut code = [0u8; 3];
        for (slot, b) in code.iter_mut().zip(bytes) {
            *slot = b.to_ascii_lowercase();
        }
        Some(Lang(code))
    }

    /// Whether this is one of the six languages compiled into every hub.
    pub fn is_builtin(self) -> bool {
        Lang::ALL.contains(&self)
    }

    /// The language's name in itself, for pickers shown to people who speak it. For a language
    /// that is not built in, its code (the hub's language file has its real name).
    pub fn name(&self) -> &str {
        match *self {
            Lang::En => "English",
            Lang::It => "Italiano",
            Lang::De => "Deutsch",
            Lang::Nl => "Nederlands",
            Lang::Sv => "Svenska",
            Lang::Ru => "Русский",
            _ => self.code(),
        }
    }

    /// The language's name in English, for prompts to a language model ("write in Russian").
    /// For a language that is not built in, its code (the hub's language file has its name).
    pub fn english_name(&self) -> &str {
        match *self {
            Lang::En => "English",
            Lang::It => "Italian",
            Lang::De => "German",
            Lang::Nl => "Dutch",
            Lang::Sv => "Swedish",
            Lang::Ru => "Russian",
            _ => self.code(),
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Lang {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Lang {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        // Strict on the wire: exactly a lowercase code, no region.
        match Lang::from_code(&code) {
            Some(lang) if lang.code() == code => Ok(lang),
            _ => Err(serde::de::Error::custom(format!(
                "invalid language code {code:?}: two or three lowercase letters (ISO 639), \
                 such as \"en\" or \"pl\""
            ))),
        }
    }
}

/// Why a string is not a language code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLang {
    /// What was given, as given.
    pub given: String,
}

impl fmt::Display for UnknownLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a language code: {:?}; use ISO 639 codes such as en, it, de, nl, sv, ru, pl",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_any_code_is_a_language() {
        for lang in Lang::ALL {
            assert_eq!(Lang::from_code(lang.code()), Some(lang));
            assert!(lang.is_builtin());
        }
        let pl = Lang::from_code("pl-PL").expect("pl");
        assert_eq!(pl.code(), "pl");
        assert!(!pl.is_builtin());
        assert_eq!(
            Lang::from_code("FIL").map(|l| l.to_string()),
            Some("fil".into())
        );
        for bad in ["", "e", "engl", "e1", "日本"] {
            assert_eq!(Lang::from_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn wire_form_is_the_lowercase_code() {
        let pl = Lang::from_code("pl").expect("pl");
        assert_eq!(
            serde_json::to_string(&[Lang::En, pl]).ok(),
            Some(r#"["en","pl"]"#.into())
        );
        let back: Vec<Lang> = serde_json::from_str(r#"["ru","es"]"#).expect("codes");
        assert_eq!(back[0], Lang::Ru);
        assert_eq!(back[1].code(), "es");
        for bad in [r#""EN""#, r#""en-GB""#, r#""x""#, "3"] {
            assert!(serde_json::from_str::<Lang>(bad).is_err(), "{bad}");
        }
    }
}
