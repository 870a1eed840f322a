//! Recall and false-positive rate of the content guard on the labelled corpus in
//! `tests/corpus/` (attacks, their obfuscated variants, and hard benign prompts), at the default
//! policy's block thresholds. `make guard-eval` prints the figures and every miss.

use warden::validator::decision::UseCasePolicy;
use warden::validator::guard::{scan_text, Category};

struct Case {
    label: &'static str,
    source: String,
    text: String,
}

fn corpus() -> Vec<Case> {
    let dir = format!("{}/corpus", env!("CARGO_MANIFEST_DIR"));
    let lines = |file: &str| -> Vec<String> {
        std::fs::read_to_string(format!("{dir}/{file}"))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let mut cases = Vec::new();
    for text in lines("attacks.txt") {
        cases.push(Case { label: "attack", source: "attacks.txt".into(), text });
    }
    for line in lines("obfuscated.jsonl") {
        let row: serde_json::Value = serde_json::from_str(&line).unwrap();
        cases.push(Case {
            label: "attack",
            source: row["source"].as_str().unwrap().into(),
            text: row["text"].as_str().unwrap().into(),
        });
    }
    // Earlier held-out rounds, tuned on once measured.
    for round in ["round2", "round3", "round4", "round5"] {
        for text in lines(&format!("{round}_attacks.txt")) {
            cases.push(Case { label: "attack", source: format!("{round}_attacks.txt"), text });
        }
        for text in lines(&format!("{round}_benign.txt")) {
            cases.push(Case { label: "benign", source: format!("{round}_benign.txt"), text });
        }
    }
    for text in lines("benign.txt") {
        cases.push(Case { label: "benign", source: "benign.txt".into(), text });
    }
    cases
}

/// Blocked under the default policy: an injection or Unicode-smuggling score at or over the
/// block threshold.
fn blocked(text: &str) -> (bool, String) {
    let policy = UseCasePolicy::default();
    let scan = scan_text(text);
    let hit = [Category::Injection, Category::Unicode]
        .into_iter()
        .any(|c| policy.block.get(c).is_some_and(|t| scan.category_score(c) >= t));
    let kinds: Vec<String> = scan.findings.iter().map(|f| format!("{}={:.2}", f.kind, f.score)).collect();
    (hit, kinds.join(" "))
}

/// Held-out prompts (round 6), written after rounds 1 to 5 were tuned and never tuned on: their
/// figures are the honest estimate of how the guard does on text it has not seen.
#[test]
fn held_out_figures() {
    let dir = format!("{}/corpus", env!("CARGO_MANIFEST_DIR"));
    let read = |f: &str| -> Vec<String> {
        std::fs::read_to_string(format!("{dir}/{f}"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect()
    };
    let attacks = read("holdout_attacks.txt");
    let benign = read("holdout_benign.txt");
    let missed: Vec<&String> = attacks.iter().filter(|t| !blocked(t).0).collect();
    let false_positives: Vec<&String> = benign.iter().filter(|t| blocked(t).0).collect();
    let recall = 1.0 - missed.len() as f64 / attacks.len() as f64;
    let fpr = false_positives.len() as f64 / benign.len() as f64;
    println!(
        "content guard on the held-out set: {} attacks, {} benign\n  recall {:.1}% ({} missed)\n  false-positive rate {:.2}% ({} of {})",
        attacks.len(),
        benign.len(),
        recall * 100.0,
        missed.len(),
        fpr * 100.0,
        false_positives.len(),
        benign.len()
    );
    for t in &missed {
        println!("  MISS {:?} -> {}", t.chars().take(110).collect::<String>(), blocked(t).1);
    }
    for t in &false_positives {
        println!("  FALSE POSITIVE {:?} -> {}", t.chars().take(110).collect::<String>(), blocked(t).1);
    }
    // A regression floor under the measured figures (70.0% recall when this round was written;
    // 4.0% false positives then, 0.0% after a false positive also seen in round 5 was fixed), not
    // the target: the rules generalise to two thirds or so of unseen attack phrasings. The 95% /
    // 1% target is asserted on the tuning corpus only.
    assert!(recall >= 0.6 && fpr <= 0.05, "held-out recall {recall:.3}, false-positive rate {fpr:.3}");
}

#[test]
fn recall_and_false_positive_rate_on_the_corpus() {
    let cases = corpus();
    let attacks: Vec<&Case> = cases.iter().filter(|c| c.label == "attack").collect();
    let benign: Vec<&Case> = cases.iter().filter(|c| c.label == "benign").collect();
    assert!(attacks.len() >= 150 && benign.len() >= 200, "the corpus shrank");
    let mut missed = Vec::new();
    for c in &attacks {
        let (hit, kinds) = blocked(&c.text);
        if !hit {
            missed.push(format!("  MISS [{}] {:?} -> {kinds}", c.source, c.text.chars().take(110).collect::<String>()));
        }
    }
    let mut false_positives = Vec::new();
    for c in &benign {
        let (hit, kinds) = blocked(&c.text);
        if hit {
            false_positives
                .push(format!("  FALSE POSITIVE {:?} -> {kinds}", c.text.chars().take(110).collect::<String>()));
        }
    }
    let recall = 1.0 - missed.len() as f64 / attacks.len() as f64;
    let fpr = false_positives.len() as f64 / benign.len() as f64;
    println!(
        "content guard on tests/corpus: {} attacks ({} obfuscated), {} benign\n  recall {:.1}% ({} missed)\n  false-positive rate {:.2}% ({} of {})",
        attacks.len(),
        attacks.iter().filter(|c| c.source.starts_with("obfuscated")).count(),
        benign.len(),
        recall * 100.0,
        missed.len(),
        fpr * 100.0,
        false_positives.len(),
        benign.len()
    );
    for line in missed.iter().chain(&false_positives) {
        println!("{line}");
    }
    assert!(recall >= 0.95, "recall {:.1}% is under 95%", recall * 100.0);
    assert!(fpr <= 0.01, "false-positive rate {:.2}% is over 1%", fpr * 100.0);
}
