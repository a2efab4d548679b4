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
///
/// Every character a run may hold is ASCII, so the text is scanned as bytes (a byte of a
/// longer UTF-8 character never matches) and copied a span at a time.
fn mask_numbers(text: &str) -> String {
    let bytes = text.as_bytes();
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let starts_run = digit(i) || (bytes[i] == b'+' && digit(i + 1));
        if !starts_run {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut end = i + 1;
        while j < bytes.len() {
            if digit(j) {
                end = j + 1;
            } else if !matches!(bytes[j], b' ' | b'-' | b'.' | b'(' | b')')
                || !(digit(j + 1) || bytes.get(j + 1) == Some(&b'('))
            {
                break;
            }
            j += 1;
        }
        let run = &text[i..end];
        let digits = run.bytes().filter(u8::is_ascii_digit).count();
        let keep = match digits {
            13..=19 => 4,
            7..=12 => 2,
            _ => digits,
        };
        if keep < digits {
            out.push_str(&text[copied..i]);
            let mut seen = 0;
            for c in run.chars() {
                if c.is_ascii_digit() {
                    seen += 1;
                    out.push(if seen > digits - keep { c } else { '•' });
                } else {
                    out.push(c);
                }
            }
            copied = end;
        }
        i = end;
    }
    out.push_str(&text[copied..]);
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
    fn numbers_among_other_scripts_and_at_the_edges() {
        assert_eq!(mask("номер 0612345678"), "номер ••••••••78");
        assert_eq!(mask("€0612345678€ +"), "€••••••••78€ +");
        assert_eq!(mask("(06) 1234-5678."), "(06) ••••-••78.");
        assert_eq!(mask("电话+390612345678"), "电话+••••••••••78");
        assert_eq!(mask("4111 1111 1111 1234 - 5"), "•••• •••• •••• 1234 - 5");
        assert_eq!(mask("12345-"), "12345-");
    }

    #[test]
    fn short_numbers_and_words_are_left_alone() {
        assert_eq!(
            mask("order 1234, 3 instalments of €40"),
            "order 1234, 3 instalments of €40"
        );
    }
}
