//! The operator's own triage rules: extra request-a-person phrases and sensitive-topic words.
//!
//! They come from the hub's config file, one table per language:
//!
//! ```toml
//! [rules.en]
//! person = ["speak to the manager", "escalate*"]
//! sensitive.complaint = ["ombudsman"]      # adds words to a built-in topic
//! sensitive.medical = ["hospital", "surgery"]  # a topic of the operator's own
//! ```
//!
//! Rules only add: the built-in phrase lists always apply, so no configuration can take away
//! the promise that a customer who asks for a person gets one. Phrases are written as the
//! built-in ones are (lowercase; a trailing `*` matches any ending; one other word may stand
//! between two phrase words) and, like them, are checked whatever language a message is in.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::lang::Lang;

/// Extra rules by language code, as written in the config file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct OperatorRules(pub BTreeMap<String, LanguageRules>);

/// The extra rules of one language.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanguageRules {
    /// More ways customers ask for a person.
    #[serde(default)]
    pub person: Vec<String>,
    /// Words that show a sensitive topic, by topic: a built-in topic (`fraud`, `dispute`,
    /// `hardship`, `complaint`, `bereavement`) or a name of the operator's own.
    #[serde(default)]
    pub sensitive: BTreeMap<String, Vec<String>>,
}

impl OperatorRules {
    /// Every language named is one the hub knows, and every phrase has words in it.
    pub fn check(&self) -> Result<(), String> {
        for (code, rules) in &self.0 {
            if Lang::from_code(code).is_none_or(|l| l.code() != code.as_str()) {
                return Err(format!(
                    "`{code}` is not a language code (lowercase ISO 639: en, it, pl, ...)"
                ));
            }
            let lists = std::iter::once(("person", &rules.person))
                .chain(rules.sensitive.iter().map(|(t, l)| (t.as_str(), l)));
            for (list, phrases) in lists {
                if !list
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '-')
                    || list.is_empty()
                {
                    return Err(format!(
                        "{code}: topic `{list}`: use lowercase letters, `_` or `-`"
                    ));
                }
                for phrase in phrases {
                    if crate::lang::words(phrase.trim_end_matches('*')).is_empty() {
                        return Err(format!("{code}.{list}: phrase `{phrase}` has no words"));
                    }
                }
            }
        }
        Ok(())
    }

    /// Languages the rules are written for that the hub does not serve (neither built in nor
    /// loaded from a language file): rules for them would never be used as intended.
    pub fn unserved(&self) -> Vec<String> {
        self.0
            .keys()
            .filter(|code| Lang::from_code(code).is_none_or(|l| !crate::languages::is_served(l)))
            .cloned()
            .collect()
    }

    /// Every extra request-a-person phrase, whatever its language.
    pub fn person_phrases(&self) -> impl Iterator<Item = &str> {
        self.0
            .values()
            .flat_map(|r| r.person.iter().map(String::as_str))
    }

    /// Every extra sensitive phrase with its topic, whatever its language.
    pub fn sensitive_phrases(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.values().flat_map(|r| {
            r.sensitive
                .iter()
                .flat_map(|(topic, list)| list.iter().map(move |p| (topic.as_str(), p.as_str())))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.0
            .values()
            .all(|r| r.person.is_empty() && r.sensitive.values().all(Vec::is_empty))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> OperatorRules {
        toml::from_str::<BTreeMap<String, OperatorRules>>(text)
            .expect("valid toml")
            .remove("rules")
            .expect("a rules table")
    }

    #[test]
    fn reads_person_and_sensitive_lists() {
        let r = rules(
            "[rules.en]\nperson = [\"escalate*\"]\nsensitive.medical = [\"hospital\"]\n\
             [rules.it]\nsensitive.complaint = [\"reclamo formale\"]\n",
        );
        r.check().expect("valid");
        assert_eq!(r.person_phrases().collect::<Vec<_>>(), ["escalate*"]);
        assert_eq!(
            r.sensitive_phrases().collect::<Vec<_>>(),
            [("medical", "hospital"), ("complaint", "reclamo formale")]
        );
    }

    #[test]
    fn bad_language_code_and_empty_phrase_are_errors() {
        let e = rules("[rules.x1]\nperson = [\"a\"]\n")
            .check()
            .expect_err("x1");
        assert!(e.contains("`x1` is not a language code"), "{e}");
        let unserved = rules("[rules.xx]\nperson = [\"a\"]\n");
        unserved.check().expect("a well-formed code");
        assert_eq!(unserved.unserved(), ["xx"]);
        let e = rules("[rules.en]\nperson = [\"  \"]\n")
            .check()
            .expect_err("empty");
        assert!(e.contains("en.person"), "{e}");
        let e = rules("[rules.en]\nsensitive.\"Bad Topic\" = [\"x\"]\n")
            .check()
            .expect_err("topic");
        assert!(e.contains("Bad Topic"), "{e}");
    }

    #[test]
    fn unknown_field_is_an_error() {
        let e = toml::from_str::<BTreeMap<String, OperatorRules>>("[rules.en]\npersons = []\n")
            .expect_err("unknown field");
        assert!(e.to_string().contains("persons"), "{e}");
    }
}
