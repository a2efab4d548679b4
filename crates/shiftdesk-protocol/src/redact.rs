//! Masking of personal data shown to workers: card numbers, email addresses, phone numbers.
//! The hub masks customer text before it is sent to a worker (PROTOCOL.md, *Personal data*).
//!
//! A worker needs to recognise a customer's card or address ("the Visa ending 4242"), not read
//! it in full: the last four digits of a card, the first letter and domain of an email and the
//! last two digits of a phone number stay visible.

use std::borrow::Cow;

/// Mask every card number, email address and phone number in `text`.
pub fn mask(text: &str) -> String {
    // Most messages hold no address and many no digit at all: they are returned as they are
    // without taking them apart (the hub masks every customer line it sends to a worker).
    let text = if text.contains('@') {
        Cow::Owned(
            text.split_inclusive(char::is_whitespace)
                .map(mask_word)
                .collect::<String>(),
        )
    } else {
        Cow::Borrowed(text)
    };
    if text.bytes().any(|b| b.is_ascii_digit()) {
        mask_numbers(&text)
    } else {
        text.into_owned()
    }
}

fn mask_word(word: &str) -> String {
    let trimmed = word.trim_end();
    let tail = &word[trimmed.len()..];
    if let Some(at) = trimmed.find('@')
        && at > 0
        && trimmed[at + 1..].contains('.')
    {
        let first: String = trimmed.chars().take(1).collect();
        return format!("{first}***{}{tail}", &trimmed[at..]);
    }
    word.to_string()
}

/// Runs of digits (with spaces, dashes, dots or a leading +) of 7 or more digits: 13 to 19
/// digits are cards (last four kept), shorter are phone numbers (last two kept).
fn mask_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts_run = chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()));
        if !starts_run {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut end = i + 1;
        while j < chars.len() {
            let c = chars[j];
            if c.is_ascii_digit() {
                end = j + 1;
            } else if !matches!(c, ' ' | '-' | '.' | '(' | ')')
                || !chars
                    .get(j + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '(')
            {
                break;
            }
            j += 1;
        }
        let run: String = chars[i..end].iter().collect();
        let digits = run.chars().filter(char::is_ascii_digit).count();
        let keep = match digits {
            13..=19 => 4,
            7..=12 => 2,
            _ => digits,
        };
        let mut seen = 0;
        for c in run.chars() {
            if c.is_ascii_digit() {
                seen += 1;
                out.push(if seen > digits - keep { c } else { '•' });
            } else {
                out.push(c);
            }
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn cards_keep_the_last_four() {
        assert_eq!(
            mask("card 4111 1111 1111 1234 ok"),
            "card •••• •••• •••• 1234 ok"
        );
        assert_eq!(mask("4111111111111234"), "••••••••••••1234");
    }

    #[test]
    fn phones_keep_the_last_two() {
        assert_eq!(mask("+39 347 123 4567"), "+•• ••• ••• ••67");
        assert_eq!(mask("call 0612345678."), "call ••••••••78.");
    }

    #[test]
    fn emails_keep_the_first_letter_and_domain() {
        assert_eq!(
            mask("mail ana.rossi@example.it now"),
            "mail a***@example.it now"
        );
    }

    #[test]
    fn short_numbers_and_words_are_left_alone() {
        assert_eq!(
            mask("order 1234, 3 instalments of €40"),
            "order 1234, 3 instalments of €40"
        );
    }
}
