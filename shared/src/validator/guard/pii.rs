//! Personal data and secrets, found in one pass over the bytes: each detector starts only at
//! the byte that can begin what it looks for, and numbers count only when their checksum holds
//! (Luhn for payment cards, mod-97 for IBANs, the check letter of Spanish DNI/NIE, Verhoeff for
//! Aadhaar) or their format is unambiguous (US SSN, UK NINO, formatted phone numbers).
//! Findings carry the kind and a count, never the value.

use super::{Finding, FindingKind};

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn at_boundary(bytes: &[u8], i: usize) -> bool {
    i == 0 || !is_word(bytes[i - 1])
}

fn starts_with_ci(bytes: &[u8], i: usize, needle: &[u8]) -> bool {
    bytes.len() >= i + needle.len() && bytes[i..i + needle.len()].eq_ignore_ascii_case(needle)
}

/// Counts per kind; turned into findings at the end.
#[derive(Default)]
struct Tally(Vec<(FindingKind, f32, usize)>);

impl Tally {
    fn add(&mut self, kind: FindingKind, score: f32) {
        match self.0.iter_mut().find(|(k, _, _)| *k == kind) {
            Some(entry) => {
                entry.1 = entry.1.max(score);
                entry.2 += 1;
            }
            None => self.0.push((kind, score, 1)),
        }
    }
}

pub fn scan(text: &str) -> Vec<Finding> {
    let bytes = text.as_bytes();
    let mut tally = Tally::default();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_word(b) {
            // Detectors start only at the beginning of a word; the rest of a word is skipped.
            let consumed = if !at_boundary(bytes, i) {
                0
            } else {
                match b {
                    b'0'..=b'9' => numbers(bytes, i, &mut tally),
                    b'b' | b'B' if starts_with_ci(bytes, i, b"bearer ") => bearer(bytes, i, &mut tally),
                    b'A'..=b'Z' => upper_word(bytes, i, &mut tally),
                    b'e' if bytes[i..].starts_with(b"eyJ") => jwt(bytes, i, &mut tally),
                    b'g' | b'x' | b's' => prefixed_token(bytes, i, &mut tally),
                    _ => 0,
                }
            };
            i += if consumed == 0 { bytes[i..].iter().take_while(|&&b| is_word(b)).count() } else { consumed };
            continue;
        }
        let consumed = match b {
            b'@' => email(bytes, i, &mut tally),
            b'+' | b'(' if at_boundary(bytes, i) => numbers(bytes, i, &mut tally),
            b'-' if bytes[i..].starts_with(b"-----BEGIN ") => private_key(bytes, i, &mut tally),
            _ => 0,
        };
        i += consumed.max(1);
    }
    tally.0.into_iter().map(|(kind, score, count)| Finding::new(kind, score, count)).collect()
}

fn email(bytes: &[u8], at: usize, tally: &mut Tally) -> usize {
    let local = bytes[..at].iter().rev().take_while(|&&b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b)).count();
    if local == 0 {
        return 1;
    }
    let domain: &[u8] = {
        let rest = &bytes[at + 1..];
        let n = rest.iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-').count();
        rest[..n].strip_suffix(b".").unwrap_or(&rest[..n])
    };
    let Some(dot) = domain.iter().rposition(|&b| b == b'.') else { return 1 };
    let tld = &domain[dot + 1..];
    if dot > 0 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic) {
        tally.add(FindingKind::Email, 0.9);
    }
    1 + domain.len()
}

/// A run of digits with single separators (space, dash, dot, parentheses), as people write
/// card, phone and id numbers.
fn numbers(bytes: &[u8], start: usize, tally: &mut Tally) -> usize {
    let mut digits = [0u8; 40];
    let mut n = 0usize;
    let mut groups = [0u8; 12];
    let mut g = 0usize;
    let mut seps = [0u8; 12];
    let mut i = start;
    let plus = bytes[i] == b'+';
    if plus || bytes[i] == b'(' {
        i += 1;
    }
    let mut group_len = 0u8;
    while i < bytes.len() && n < digits.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            digits[n] = b - b'0';
            n += 1;
            group_len += 1;
            i += 1;
        } else if matches!(b, b' ' | b'-' | b'.' | b')')
            && i + 1 < bytes.len()
            && (bytes[i + 1].is_ascii_digit() || (b == b')' && bytes[i + 1] == b' '))
            && group_len > 0
            && g < groups.len()
        {
            groups[g] = group_len;
            seps[g] = b;
            g += 1;
            group_len = 0;
            i += if b == b')' && bytes[i + 1] == b' ' { 2 } else { 1 };
        } else {
            break;
        }
    }
    if group_len > 0 && g < groups.len() {
        groups[g] = group_len;
        g += 1;
    }
    // A number glued to letters (`v2`, `abc123`) or continuing as a word is not one of these.
    if i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') {
        // Spanish DNI: 8 digits and a check letter.
        if n == 8 && g == 1 && (i + 1 == bytes.len() || !is_word(bytes[i + 1])) {
            let letter = bytes[i].to_ascii_uppercase();
            let value = digits[..8].iter().fold(0u32, |acc, &d| acc * 10 + d as u32);
            if b"TRWAGMYFPDXBNJZSQVHLCKE"[(value % 23) as usize] == letter {
                tally.add(FindingKind::NationalId, 0.85);
            }
        }
        return i - start;
    }
    let digits = &digits[..n];
    let groups = &groups[..g];
    let seps = &seps[..g.saturating_sub(1)];
    let one_sep = seps.windows(2).all(|w| w[0] == w[1]);
    if (13..=19).contains(&n) && one_sep && !seps.contains(&b'.') && luhn(digits) && card_prefix(digits) {
        tally.add(FindingKind::PaymentCard, 0.95);
    } else if n == 9 && groups == [3, 2, 4] && seps.iter().all(|&s| s == b'-') && ssn(digits) {
        tally.add(FindingKind::NationalId, 0.85);
    } else if n == 12 && groups == [4, 4, 4] && one_sep && digits[0] >= 2 && verhoeff(digits) {
        tally.add(FindingKind::NationalId, 0.8);
    } else if (plus && (8..=15).contains(&n) && digits[0] != 0 && (g >= 2 || n >= 10))
        || (n == 10 && groups == [3, 3, 4] && digits[0] >= 2 && (bytes[start] == b'(' || (one_sep && seps[0] != b' ')))
    {
        tally.add(FindingKind::Phone, 0.7);
    }
    (i - start).max(1)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = d as u32;
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn card_prefix(d: &[u8]) -> bool {
    let p2 = d[0] as u32 * 10 + d[1] as u32;
    let p4 = p2 * 100 + d[2] as u32 * 10 + d[3] as u32;
    d[0] == 4
        || (51..=55).contains(&p2)
        || (2221..=2720).contains(&p4)
        || p2 == 34
        || p2 == 37
        || p4 == 6011
        || p2 == 65
        || (644..=649).contains(&(p4 / 10))
        || p2 == 35
        || p2 == 36
        || p2 == 38
        || p2 == 30
        || p2 == 62
}

fn ssn(d: &[u8]) -> bool {
    let area = d[0] as u32 * 100 + d[1] as u32 * 10 + d[2] as u32;
    let group = d[3] * 10 + d[4];
    let serial = d[5..].iter().fold(0u32, |a, &x| a * 10 + x as u32);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

fn verhoeff(digits: &[u8]) -> bool {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    let mut c = 0u8;
    for (i, &d) in digits.iter().rev().enumerate() {
        c = D[c as usize][P[i % 8][d as usize] as usize];
    }
    c == 0
}

/// Words starting with a capital: IBANs, UK national insurance numbers, NIEs, AWS access keys,
/// Google API keys.
fn upper_word(bytes: &[u8], start: usize, tally: &mut Tally) -> usize {
    let word_len = bytes[start..].iter().take_while(|&&b| is_word(b)).count();
    let word = &bytes[start..start + word_len];
    // AWS access key ids: a known prefix and 16 base-32 characters.
    if word_len == 20
        && [b"AKIA", b"ASIA", b"ABIA", b"ACCA"].iter().any(|p| word.starts_with(*p))
        && word[4..].iter().all(|&b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    {
        tally.add(FindingKind::AwsAccessKey, 1.0);
        return word_len;
    }
    if word_len == 39 && word.starts_with(b"AIza") {
        tally.add(FindingKind::ApiToken, 0.9);
        return word_len;
    }
    // Spanish NIE: X/Y/Z, 7 digits, check letter.
    if word_len == 9 && matches!(word[0], b'X' | b'Y' | b'Z') && word[1..8].iter().all(u8::is_ascii_digit) {
        let lead = (word[0] - b'X') as u32;
        let value = word[1..8].iter().fold(lead, |acc, &d| acc * 10 + (d - b'0') as u32);
        if b"TRWAGMYFPDXBNJZSQVHLCKE"[(value % 23) as usize] == word[8].to_ascii_uppercase() {
            tally.add(FindingKind::NationalId, 0.85);
        }
        return word_len;
    }
    if word_len == 2 {
        // UK NINO written in groups: `QQ 12 34 56 C`.
        let compact: Vec<u8> = bytes[start..].iter().take(14).copied().filter(|b| *b != b' ').take(9).collect();
        if compact.len() == 9 && nino(&compact) {
            tally.add(FindingKind::NationalId, 0.75);
            return 2;
        }
    }
    if word_len == 9 && nino(word) {
        tally.add(FindingKind::NationalId, 0.75);
        return word_len;
    }
    if word_len >= 2 && word[1].is_ascii_uppercase() && bytes.len() > start + 4 {
        if let Some(len) = iban(bytes, start) {
            tally.add(FindingKind::Iban, 0.95);
            return len;
        }
    }
    word_len.max(1)
}

fn nino(w: &[u8]) -> bool {
    let bad_first = b"DFIQUV";
    let bad_second = b"DFIOQUV";
    w.len() == 9
        && w[0].is_ascii_uppercase()
        && w[1].is_ascii_uppercase()
        && !bad_first.contains(&w[0])
        && !bad_second.contains(&w[1])
        && !matches!(&w[..2], b"BG" | b"GB" | b"NK" | b"KN" | b"TN" | b"NT" | b"ZZ")
        && w[2..8].iter().all(u8::is_ascii_digit)
        && matches!(w[8], b'A'..=b'D')
}

fn iban_length(country: &[u8]) -> Option<usize> {
    Some(match country {
        b"NO" => 15,
        b"BE" => 16,
        b"DK" | b"FI" | b"NL" | b"FO" | b"GL" => 18,
        b"MK" | b"SI" => 19,
        b"AT" | b"BA" | b"EE" | b"KZ" | b"LT" | b"LU" | b"XK" => 20,
        b"CH" | b"HR" | b"LI" | b"LV" => 21,
        b"BG" | b"BH" | b"DE" | b"GB" | b"GE" | b"IE" | b"ME" | b"RS" => 22,
        b"AE" | b"GI" | b"IL" | b"TL" => 23,
        b"AD" | b"CZ" | b"ES" | b"MD" | b"PK" | b"RO" | b"SA" | b"SE" | b"SK" | b"VG" | b"TN" => 24,
        b"PT" => 25,
        b"IS" | b"TR" => 26,
        b"FR" | b"GR" | b"IT" | b"MC" | b"MR" | b"SM" => 27,
        b"AL" | b"AZ" | b"CY" | b"DO" | b"GT" | b"HU" | b"LB" | b"PL" => 28,
        b"BR" | b"PS" | b"QA" | b"UA" => 29,
        b"JO" | b"KW" | b"MU" => 30,
        b"MT" => 31,
        _ => return None,
    })
}

/// An IBAN, compact or in groups of four, whose mod-97 check holds. Returns the bytes consumed.
fn iban(bytes: &[u8], start: usize) -> Option<usize> {
    let expected = iban_length(&bytes[start..start + 2])?;
    let mut compact = Vec::with_capacity(34);
    let mut i = start;
    while i < bytes.len() && compact.len() < expected {
        let b = bytes[i];
        if b.is_ascii_alphanumeric() {
            compact.push(b.to_ascii_uppercase());
        } else if !(b == b' ' && i + 1 < bytes.len() && bytes[i + 1].is_ascii_alphanumeric()) {
            break;
        }
        i += 1;
    }
    if compact.len() != expected || (i < bytes.len() && bytes[i].is_ascii_alphanumeric()) {
        return None;
    }
    if !compact[2..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let rearranged = compact[4..].iter().chain(&compact[..4]);
    let mut rem = 0u32;
    for &c in rearranged {
        let v = if c.is_ascii_digit() { (c - b'0') as u32 } else { (c - b'A') as u32 + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    (rem == 1).then_some(i - start)
}

fn private_key(bytes: &[u8], start: usize, tally: &mut Tally) -> usize {
    let line_end = bytes[start..].iter().take(80).position(|&b| b == b'\n').unwrap_or(80.min(bytes.len() - start));
    let header = &bytes[start..start + line_end];
    if header.windows(11).any(|w| w == b"PRIVATE KEY") {
        tally.add(FindingKind::PrivateKey, 1.0);
    }
    line_end.max(1)
}

fn token_len(bytes: &[u8], start: usize, extra: &[u8]) -> usize {
    bytes[start..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || extra.contains(&b)).count()
}

fn jwt(bytes: &[u8], start: usize, tally: &mut Tally) -> usize {
    let len = token_len(bytes, start, b"-_.");
    let token = &bytes[start..start + len];
    let parts: Vec<&[u8]> = token.split(|&b| b == b'.').collect();
    if parts.len() == 3 && parts[0].len() >= 10 && parts[1].len() >= 10 && parts[2].len() >= 16 {
        tally.add(FindingKind::ApiToken, 0.9);
    }
    len.max(1)
}

fn bearer(bytes: &[u8], start: usize, tally: &mut Tally) -> usize {
    let len = token_len(bytes, start + 7, b"-._~+/=");
    let token = &bytes[start + 7..start + 7 + len];
    let has_digit = token.iter().any(u8::is_ascii_digit);
    if len >= 20 && has_digit {
        tally.add(FindingKind::ApiToken, 0.9);
    }
    7 + len
}

fn prefixed_token(bytes: &[u8], start: usize, tally: &mut Tally) -> usize {
    const PREFIXES: [(&[u8], usize); 9] = [
        (b"ghp_", 36),
        (b"gho_", 36),
        (b"ghs_", 36),
        (b"ghu_", 36),
        (b"github_pat_", 40),
        (b"xoxb-", 20),
        (b"xoxp-", 20),
        (b"sk_live_", 20),
        (b"sk-proj-", 32),
    ];
    for (prefix, min) in PREFIXES {
        if bytes[start..].starts_with(prefix) {
            let len = token_len(bytes, start + prefix.len(), b"-_");
            if len >= min {
                tally.add(FindingKind::ApiToken, 0.95);
            }
            return prefix.len() + len;
        }
    }
    token_len(bytes, start, b"_").max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<FindingKind> {
        let mut k: Vec<_> = scan(text).iter().map(|f| f.kind).collect();
        k.sort();
        k
    }

    #[test]
    fn emails() {
        assert_eq!(kinds("write to jane.doe+ai@example.co.uk today"), [FindingKind::Email]);
        assert!(kinds("use @decorator or user@localhost").is_empty());
    }

    #[test]
    fn payment_cards_need_luhn_and_a_card_prefix() {
        assert_eq!(kinds("card 4111 1111 1111 1111 exp 12/29"), [FindingKind::PaymentCard]);
        assert_eq!(kinds("5500-0000-0000-0004"), [FindingKind::PaymentCard]);
        assert_eq!(kinds("amex 378282246310005"), [FindingKind::PaymentCard]);
        assert!(kinds("order 4111 1111 1111 1112").is_empty(), "Luhn fails");
        assert!(kinds("id 1234567812345670").is_empty(), "no card prefix");
    }

    #[test]
    fn ibans_need_the_mod97_check() {
        assert_eq!(kinds("IBAN DE89 3704 0044 0532 0130 00 please"), [FindingKind::Iban]);
        assert_eq!(kinds("GB82WEST12345698765432"), [FindingKind::Iban]);
        assert!(!kinds("DE89 3704 0044 0532 0130 01").contains(&FindingKind::Iban));
    }

    #[test]
    fn national_ids() {
        assert_eq!(kinds("SSN 123-45-6789"), [FindingKind::NationalId]);
        assert!(kinds("SSN 000-45-6789 or 666-12-3456").is_empty());
        assert_eq!(kinds("DNI 12345678Z"), [FindingKind::NationalId]);
        assert!(kinds("DNI 12345678A").is_empty());
        assert_eq!(kinds("NIE X1234567L"), [FindingKind::NationalId]);
        assert_eq!(kinds("NINO AB 12 34 56 C"), [FindingKind::NationalId]);
        assert_eq!(kinds("Aadhaar 2345 6789 0124"), [FindingKind::NationalId]);
    }

    #[test]
    fn phones_must_look_like_phones() {
        assert_eq!(kinds("call +44 20 7946 0958"), [FindingKind::Phone]);
        assert_eq!(kinds("call (415) 555-2671"), [FindingKind::Phone]);
        assert_eq!(kinds("call 415-555-2671"), [FindingKind::Phone]);
        assert!(kinds("released 2024-01-15, build 1700000000, v1.2.3, 3.14159").is_empty());
    }

    #[test]
    fn secrets() {
        assert_eq!(kinds("key AKIAIOSFODNN7EXAMPLE"), [FindingKind::AwsAccessKey]);
        assert_eq!(kinds("-----BEGIN RSA PRIVATE KEY-----\nMIIE..."), [FindingKind::PrivateKey]);
        assert!(kinds("-----BEGIN CERTIFICATE-----").is_empty());
        assert_eq!(kinds("Authorization: Bearer abcDEF0123456789abcdefXYZ"), [FindingKind::ApiToken]);
        assert_eq!(
            kinds("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
            [FindingKind::ApiToken]
        );
        assert_eq!(kinds("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"), [FindingKind::ApiToken]);
        assert!(kinds("the bearer of bad news").is_empty());
    }

    #[test]
    fn never_panics_on_edges() {
        for text in ["@", "+", "(", "4", "DE", "-----BEGIN ", "eyJ", "Bearer ", "ghp_", "X123", "AB 12", "12345678"] {
            let _ = scan(text);
        }
    }
}
