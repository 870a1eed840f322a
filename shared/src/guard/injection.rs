//! Prompt-injection and jailbreak detection over normalised tokens.
//!
//! Not a list of attack strings: each rule is a small grammar over word classes — an override
//! verb followed by what it overrides (`ignore … previous … instructions`, in English, German,
//! French, Spanish, Italian, Portuguese), a persona cue together with a no-limits cue, an
//! extraction verb aimed at the model's own prompt, a new task announced after a reset — so
//! rephrasings match without being listed. Chat-template tokens and fake role headers are found
//! in the raw text. Each rule gives a score; the scores of different rules combine (noisy-or), so
//! two weak signals make a strong one. A match quoted inside a text that talks *about* attacks
//! ("what does 'ignore previous instructions' do?") is damped rather than dropped.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use super::normalise::{fold_keyword, Normalised};
use super::FindingKind;

/// FNV-1a: keyword lookups are on short strings, where SipHash's setup dominates.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf29ce484222325 } else { self.0 };
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

type Keywords = HashMap<String, u32, BuildHasherDefault<Fnv>>;

// Word classes (bit flags: a word can be in several).
const OVERRIDE: u32 = 1 << 0;
const FOLLOW: u32 = 1 << 1;
const NEGATION: u32 = 1 << 2;
const PRIOR: u32 = 1 << 3;
const TARGET: u32 = 1 << 4;
const EVERYTHING: u32 = 1 << 5;
const BEFORE: u32 = 1 << 6;
const NEW: u32 = 1 << 7;
const TASK: u32 = 1 << 8;
const PERSONA: u32 = 1 << 9;
const UNBOUND: u32 = 1 << 10;
const WITHOUT: u32 = 1 << 11;
const LIMITS: u32 = 1 << 12;
const EXTRACT: u32 = 1 << 13;
const QUALIFIER: u32 = 1 << 14;
const PROMPT: u32 = 1 << 15;
const YOUR: u32 = 1 << 16;
const CONTENT: u32 = 1 << 17;
const META: u32 = 1 << 18;
const MODE: u32 = 1 << 19;
const MODE_NAME: u32 = 1 << 20;
const JAILBREAK: u32 = 1 << 21;
const PWNED: u32 = 1 << 22;
const SAY: u32 = 1 << 23;
const GENERIC: u32 = 1 << 24;
const DIRECTED: u32 = 1 << 25;
/// Words some rules look at by spelling; in the table only so the scan does not skip them.
const MARKER: u32 = 1 << 26;

const CLASSES: &[(u32, &str)] = &[
    (OVERRIDE, "ignore ignoring ignored disregard disregarding forget forgetting override overriding overrule bypass neglect dismiss discard abandon nullify
               ignoriere ignorieren ignorier vergiss vergessen vergesst missachte missachten uberschreibe
               ignorez oublie oubliez oublier ignora ignorar ignorad olvida olvide olvidar olvidad dimentica dimenticare esqueca esquecer desconsidere"),
    (FOLLOW, "follow following obey obeying adhere comply listen heed respect befolge befolgen suivre sigas seguir"),
    (NEGATION, "not dont never stop no longer cease quit nicht keine ne pas plus no nunca"),
    (PRIOR, "previous prior above earlier preceding former initial original old foregoing aforementioned system original
             vorherigen vorherige vorigen bisherigen obigen alten vorangegangenen fruheren ursprunglichen
             precedentes precedente anterieures anterieur anteriores anterior previas previa precedenti precedente iniziali anteriormente"),
    (YOUR, "your yours all any every these those deine ihre alle jeglichen samtliche vos tes toutes tous tus todas todos sus tue tutte tutti suas"),
    (TARGET, "instructions instruction directions direction rules rule directives directive guidelines guideline prompt prompts context
              constraints constraint programming restrictions restriction policies policy commands command orders guidance training
              safeguards guardrails filters limitations conditioning task tasks assignments
              anweisungen anweisung regeln befehle vorgaben anordnungen instruktionen richtlinien aufgaben
              consignes regles directives instrucciones reglas indicaciones istruzioni regole indicazioni instrucoes regras"),
    (EVERYTHING, "everything anything all alles tout todo tutto tudo"),
    (BEFORE, "above before previously earlier prior said told until written davor zuvor bisher vorher oben gesagt avant antes prima"),
    (NEW, "new next different real actual updated true revised neue neuen nouvelle nouvelles nueva nuevas nuove nuova novas nova"),
    (TASK, "task tasks instructions instruction assignment objective goal role mission orders directive directives prompt job
            aufgabe aufgaben anweisungen tache consigne tarea instrucciones compito istruzioni tarefa"),
    (PERSONA, "act acting pretend pretending roleplay simulate simulating imagine become behave embody impersonate portray
               agis actua finge"),
    (UNBOUND, "uncensored unfiltered unrestricted unbound unbounded unlimited amoral unethical immoral limitless lawless rogue unchained
               unleashed boundless unmoderated filterless"),
    (WITHOUT, "without no free beyond ignoring ignore bypassing ohne sans sin senza sem"),
    (LIMITS, "restrictions restriction limitations limits filters filter rules guidelines ethics ethical morals moral morality boundaries
              censorship constraints policies policy safeguards guardrails principles regulations restraints programming
              einschrankungen regeln grenzen restricciones limites reglas restrizioni regole"),
    (EXTRACT, "reveal show print repeat output display leak tell give dump expose spell recite share disclose list provide paste copy
               return echo what whats verrate zeige wiederhole gib nenne montre revele affiche repete repite muestra revela dime
               mostra ripeti"),
    (QUALIFIER, "system initial original hidden secret internal confidential above preceding previous prior developer pre verbatim
                 underlying geheimen geheime ursprunglichen secrete secretas iniziali"),
    (GENERIC, "a an my our good great example sample some effective better best typical"),
    (PROMPT, "prompt prompts instructions instruction rules guidelines directives configuration preprompt guidance
              anweisungen regeln consignes instrucciones istruzioni"),
    (CONTENT, "words text everything content lines sentences all message messages"),
    (META, "injection injections attack attacks attacker attackers example examples detect detecting detection detector classify classifier
            explain explaining defend defense defence mitigate mitigation security research paper dataset phrase sentence string quote
            called means meaning mean why how what filter sanitize test testing benign malicious label labeled"),
    (MODE, "mode"),
    (MODE_NAME, "developer dan god jailbreak jailbroken evil chaos dude stan unrestricted sudo admin debug opposite"),
    (JAILBREAK, "jailbreak jailbroken jailbreaking jaiibreak"),
    (PWNED, "pwned pwn pwnd"),
    (SAY, "say print output write respond reply answer type"),
    (MARKER, "do dan now on end of character stay from are re will been instead"),
    (DIRECTED, "as you yourself to ai assistant model chatbot gpt bot chatgpt llm"),
];

fn keywords() -> &'static Keywords {
    static TABLE: OnceLock<Keywords> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Keywords::default();
        for (class, words) in CLASSES {
            for word in words.split_whitespace() {
                *table.entry(fold_keyword(word)).or_default() |= class;
            }
        }
        table
    })
}

/// A rule that matched: which kind of attack, how sure, and where in the original text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub kind: FindingKind,
    pub rule: &'static str,
    pub score: f32,
    pub orig_start: u32,
}

/// Scan normalised tokens (and the raw text, for template tokens) for injection and jailbreaks.
pub fn scan(raw: &str, norm: &Normalised) -> Vec<Hit> {
    let table = keywords();
    let classes: Vec<u32> =
        norm.words().map(|w| if w.len() > 24 { 0 } else { table.get(w).copied().unwrap_or(0) }).collect();
    let mut hits = Vec::new();
    token_rules(norm, &classes, &mut hits);
    raw_rules(raw, &mut hits);
    if !hits.is_empty() {
        damp_quoted_discussion(raw, &classes, &mut hits);
    }
    hits
}

fn any_in(classes: &[u32], from: usize, to: usize, class: u32) -> Option<usize> {
    (from..to.min(classes.len())).find(|&j| classes[j] & class != 0)
}

fn token_rules(norm: &Normalised, c: &[u32], hits: &mut Vec<Hit>) {
    let n = c.len();
    let at = |i: usize| norm.tokens[i].orig_start;
    let mut persona_at: Option<usize> = None;
    let mut unbound_at: Option<usize> = None;
    for i in 0..n {
        let class = c[i];
        if class == 0 {
            continue;
        }
        let word = norm.word(i);
        // Override: "ignore (all) (previous) instructions", "do not follow your rules".
        let negated_follow = class & FOLLOW != 0 && i > 0 && any_in(c, i.saturating_sub(2), i, NEGATION).is_some();
        if class & OVERRIDE != 0 || negated_follow {
            if let Some(j) = any_in(c, i + 1, i + 7, TARGET) {
                let strong = any_in(c, i + 1, j, PRIOR | YOUR).is_some() || any_in(c, j + 1, j + 3, BEFORE).is_some();
                hits.push(Hit {
                    kind: FindingKind::InstructionOverride,
                    rule: "override",
                    score: if strong { 0.92 } else { 0.65 },
                    orig_start: at(i),
                });
            } else if let Some(j) = any_in(c, i.saturating_sub(5), i, TARGET) {
                // Verb-final languages: "alle vorherigen Anweisungen ignorieren".
                if any_in(c, i.saturating_sub(6), j, PRIOR | YOUR).is_some() {
                    hits.push(Hit {
                        kind: FindingKind::InstructionOverride,
                        rule: "override",
                        score: 0.85,
                        orig_start: at(i),
                    });
                }
            } else if let Some(j) = any_in(c, i + 1, i + 4, EVERYTHING) {
                let before = any_in(c, j + 1, j + 5, BEFORE).is_some();
                let score = if before {
                    0.88
                } else if j <= i + 2 {
                    0.6
                } else {
                    0.0
                };
                if score > 0.0 {
                    hits.push(Hit {
                        kind: FindingKind::InstructionOverride,
                        rule: "override_everything",
                        score,
                        orig_start: at(i),
                    });
                }
            }
        }
        // A new task announced: "your new task is", "neue Aufgabe".
        if class & NEW != 0 && any_in(c, i + 1, i + 3, TASK).is_some() {
            hits.push(Hit { kind: FindingKind::InstructionOverride, rule: "new_task", score: 0.45, orig_start: at(i) });
        }
        if word == "on" && i >= 2 && norm.word(i - 2) == "from" && norm.word(i - 1) == "now" {
            hits.push(Hit {
                kind: FindingKind::InstructionOverride,
                rule: "from_now_on",
                score: 0.4,
                orig_start: at(i - 2),
            });
        }
        if word == "end" && i + 2 < n && norm.word(i + 1) == "of" && c[i + 2] & (TARGET | PROMPT | CONTENT) != 0 {
            hits.push(Hit {
                kind: FindingKind::InstructionOverride,
                rule: "end_of_prompt",
                score: 0.5,
                orig_start: at(i),
            });
        }
        // Extraction: "reveal your system prompt", "repeat the words above".
        if class & EXTRACT != 0 {
            let mut owned = false;
            let mut qualified = false;
            for j in i + 1..(i + 8).min(n) {
                let cj = c[j];
                if cj & GENERIC != 0 {
                    break; // "show me an example system prompt" asks for a prompt, not for ours.
                }
                owned |= cj & YOUR != 0 && norm.word(j).starts_with('y');
                qualified |= cj & QUALIFIER != 0 && word != "what" && word != "whats";
                if cj & PROMPT != 0 && (owned || qualified || any_in(c, j + 1, j + 3, BEFORE).is_some()) {
                    hits.push(Hit {
                        kind: FindingKind::PromptExtraction,
                        rule: "extract_prompt",
                        score: 0.85,
                        orig_start: at(i),
                    });
                    break;
                }
                if cj & CONTENT != 0 && j + 1 < n && c[j + 1] & BEFORE != 0 && !word.starts_with("what") {
                    hits.push(Hit {
                        kind: FindingKind::PromptExtraction,
                        rule: "extract_above",
                        score: 0.8,
                        orig_start: at(i),
                    });
                    break;
                }
            }
        }
        // Personas aimed at the model ("act as", "pretend you are", "you are now") and no-limits
        // cues, paired within a window.
        let directed = |k: usize| {
            any_in(c, k + 1, k + 4, DIRECTED).is_some() || any_in(c, k.saturating_sub(3), k, DIRECTED).is_some()
        };
        if class & PERSONA != 0 && directed(i) {
            persona_at = Some(i);
        }
        if word == "you" && i + 2 < n && matches!(norm.word(i + 1), "are" | "re" | "wiii") && norm.word(i + 2) == "now"
        {
            persona_at = Some(i);
        }
        let do_anything_now = word == "do" && i + 2 < n && c[i + 1] & EVERYTHING != 0 && norm.word(i + 2) == "now";
        if class & UNBOUND != 0 || (class & WITHOUT != 0 && any_in(c, i + 1, i + 4, LIMITS).is_some()) {
            unbound_at = Some(i);
            hits.push(Hit { kind: FindingKind::Jailbreak, rule: "no_limits", score: 0.5, orig_start: at(i) });
        }
        if do_anything_now {
            unbound_at = Some(i);
            hits.push(Hit { kind: FindingKind::Jailbreak, rule: "dan", score: 0.9, orig_start: at(i) });
        }
        if class & MODE != 0 && i > 0 && c[i - 1] & MODE_NAME != 0 {
            hits.push(Hit { kind: FindingKind::Jailbreak, rule: "mode", score: 0.7, orig_start: at(i - 1) });
        }
        if class & JAILBREAK != 0 {
            hits.push(Hit { kind: FindingKind::Jailbreak, rule: "jailbreak_word", score: 0.55, orig_start: at(i) });
        }
        if word == "dan" && persona_at.is_some_and(|p| i - p <= 4) {
            hits.push(Hit { kind: FindingKind::Jailbreak, rule: "dan", score: 0.9, orig_start: at(i) });
        }
        if word == "character" && i >= 2 && norm.word(i - 1) == "in" && norm.word(i - 2) == "stay" {
            hits.push(Hit {
                kind: FindingKind::Jailbreak,
                rule: "stay_in_character",
                score: 0.5,
                orig_start: at(i - 2),
            });
        }
        if let (Some(p), Some(u)) = (persona_at, unbound_at) {
            if p.abs_diff(u) <= 30 {
                hits.push(Hit {
                    kind: FindingKind::Jailbreak,
                    rule: "persona_unbound",
                    score: 0.9,
                    orig_start: at(p.min(u)),
                });
                persona_at = None;
                unbound_at = None;
            }
        }
        if class & PWNED != 0 {
            let said = i >= 2 && norm.word(i - 1) == "been";
            hits.push(Hit {
                kind: FindingKind::InstructionOverride,
                rule: "pwned",
                score: if said { 0.85 } else { 0.5 },
                orig_start: at(i),
            });
        }
        if class & SAY != 0 && (1..=2).any(|back| i >= back && norm.word(i - back) == "instead") {
            hits.push(Hit {
                kind: FindingKind::InstructionOverride,
                rule: "instead_say",
                score: 0.45,
                orig_start: at(i),
            });
        }
    }
}

const TEMPLATE_TOKENS: &[&str] =
    &["[inst]", "[/inst]", "<<sys>>", "<</sys>>", "<start_of_turn>", "<end_of_turn>", "<|", "[system]", "[/system]"];

/// Chat-template tokens and fake role headers, in the raw text (they are punctuation the
/// normaliser drops).
fn raw_rules(raw: &str, hits: &mut Vec<Hit>) {
    let bytes = raw.as_bytes();
    for at in memchr::memchr2_iter(b'<', b'[', bytes) {
        let rest = &bytes[at..bytes.len().min(at + 48)];
        for token in TEMPLATE_TOKENS {
            let t = token.as_bytes();
            if rest.len() >= t.len() && rest[..t.len()].eq_ignore_ascii_case(t) {
                if *token == "<|" {
                    // `<|name|>`: the special-token syntax of ChatML, Llama 3, Phi, Qwen …
                    let inner: Vec<u8> =
                        rest[2..].iter().take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_').copied().collect();
                    if inner.is_empty() || !rest[2 + inner.len()..].starts_with(b"|>") {
                        continue;
                    }
                }
                hits.push(Hit {
                    kind: FindingKind::TemplateToken,
                    rule: "template_token",
                    score: 0.9,
                    orig_start: at as u32,
                });
                break;
            }
        }
    }
    let mut line_start = 0usize;
    for line in raw.split('\n') {
        let trimmed = line.trim_start_matches([' ', '\t', '#', '*', '>', '[', '(', '<', '-', '=', '_']).trim_end();
        let lower = trimmed.get(..trimmed.len().min(16)).unwrap_or("").to_ascii_lowercase();
        let closed = trimmed.len() < 16 && trimmed.ends_with([']', '>', ')']);
        for (name, score) in [
            ("system", 0.55),
            ("developer", 0.55),
            ("assistant", 0.45),
            ("instructions", 0.45),
            ("instruction", 0.45),
            ("sys", 0.5),
        ] {
            if let Some(after) = lower.strip_prefix(name) {
                let after = after.trim_start_matches([']', ')', '*', '>', ' ', '|']);
                if after.starts_with(':') || (after.is_empty() && closed) {
                    hits.push(Hit {
                        kind: FindingKind::TemplateToken,
                        rule: "role_header",
                        score,
                        orig_start: line_start as u32,
                    });
                    break;
                }
            }
        }
        line_start += line.len() + 1;
    }
}

/// Spans of the raw text inside quotes, backticks or code fences.
fn quoted_spans(raw: &str) -> Vec<(u32, u32)> {
    let mut spans = Vec::new();
    let bytes = raw.as_bytes();
    let mut open: Option<(char, usize)> = None;
    for (i, ch) in raw.char_indices() {
        let closes = |o: char| match o {
            '"' => ch == '"',
            '\u{201C}' => ch == '\u{201D}' || ch == '"',
            '\u{00AB}' => ch == '\u{00BB}',
            '`' => ch == '`',
            '\'' | '\u{2018}' => {
                (ch == '\'' || ch == '\u{2019}')
                    && bytes.get(i + ch.len_utf8()).is_none_or(|b| !b.is_ascii_alphanumeric())
            }
            _ => false,
        };
        match open {
            Some((o, start)) if closes(o) => {
                spans.push((start as u32, i as u32));
                open = None;
            }
            None => {
                let opens = match ch {
                    '"' | '\u{201C}' | '\u{00AB}' | '`' => true,
                    '\'' | '\u{2018}' => i == 0 || !bytes[i - 1].is_ascii_alphanumeric(),
                    _ => false,
                };
                if opens {
                    open = Some((ch, i));
                }
            }
            _ => {}
        }
    }
    spans
}

/// Someone asking *about* an attack quotes it: damp quoted matches when the text also talks
/// about attacks, detection or meaning.
fn damp_quoted_discussion(raw: &str, classes: &[u32], hits: &mut [Hit]) {
    let meta = classes.iter().filter(|&&c| c & META != 0).count();
    if meta == 0 {
        return;
    }
    let spans = quoted_spans(raw);
    for hit in hits.iter_mut() {
        if spans.iter().any(|&(s, e)| s <= hit.orig_start && hit.orig_start < e) {
            hit.score *= 0.45;
        }
    }
}
