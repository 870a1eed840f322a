"""Derive the obfuscated variants of tests/corpus/attacks.txt (run once; the output is committed).

The disguises are the ones the issue names: case, spacing, leetspeak, homoglyphs, zero-width
padding, tag-character smuggling, and mixed. Deterministic (seeded) so the corpus is stable.
"""
import json, random, pathlib

here = pathlib.Path(__file__).parent
random.seed(7)
bases = [l for l in (here / "attacks.txt").read_text().splitlines() if l and not l.startswith("#")]
leet = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
homo = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "i": "і", "x": "х", "y": "у"}

def spaced(t):  return "  ".join(" ".join(w) for w in t.split())
def leetify(t): return "".join(leet.get(c, c) if random.random() < 0.7 else c for c in t)
def homoglyph(t): return "".join(homo.get(c, c) if random.random() < 0.5 else c for c in t)
def zero_width(t): return "".join(c + ("\u200b" if c.isalpha() and random.random() < 0.3 else "") for c in t)
def tags(t): return "Please summarise the attached meeting notes." + "".join(chr(0xE0000 + ord(c)) for c in t if ord(c) < 128)
def shouty(t): return t.upper()
def dotted(t):
    words = t.split()
    k = random.randrange(len(words))
    words[k] = ".".join(words[k])
    return " ".join(words)

out = []
picked = random.sample(bases, 49)
for i, base in enumerate(picked):
    f = [spaced, leetify, homoglyph, zero_width, tags, shouty, dotted][i % 7]
    out.append({"label": "attack", "source": f"obfuscated:{f.__name__}", "text": f(base)})
with open(here / "obfuscated.jsonl", "w", encoding="utf-8") as fh:
    for row in out:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
print(f"wrote {len(out)} obfuscated attacks")
