//! The RFC texts the suite cites (shipped in `fixtures/rfc/`) and the verbatim-quote rule: a
//! scenario's `requirement:` and a baseline's `quote:` must be excerpts of the section they cite
//! (whitespace normalised, `[...]` marking an elision), and a scenario's level must be the
//! strongest BCP 14 keyword of its quote.

use crate::scenario::Level;
use std::collections::BTreeMap;
use std::path::Path;

/// The document behind a spec reference's first word: `RFC4791` or a draft such as `caldav-ctag-03`.
pub fn file_of(doc: &str) -> Option<String> {
    if let Some(n) = doc.strip_prefix("RFC") {
        return n
            .chars()
            .all(|c| c.is_ascii_digit())
            .then(|| format!("rfc{n}.txt"));
    }
    // A draft: drop the revision number (`caldav-ctag-03` -> `caldav-ctag.txt`).
    let (name, rev) = doc.rsplit_once('-')?;
    rev.chars()
        .all(|c| c.is_ascii_digit())
        .then(|| format!("{name}.txt"))
}

/// One document split into sections: section number (`9.9`, `A.1`) to its own text, from its
/// heading to the next heading of any level, page headers and footers removed.
#[derive(Debug, Default)]
pub struct Document {
    pub sections: BTreeMap<String, String>,
}

fn heading(line: &str) -> Option<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        // A title starts with a letter or `[`, or is a status code (`12.1.  412 Precondition Failed`).
        regex::Regex::new(
            r"^(?:Appendix )?((?:[0-9]+|[A-Z])(?:\.[0-9]+)*)\.?\s+(?:[A-Za-z\[]|[1-5][0-9]{2}\s)",
        )
        .expect("static regex")
    });
    re.captures(line).map(|c| c[1].to_string())
}

impl Document {
    /// Split an RFC-formatted text into its sections.
    pub fn parse(text: &str) -> Document {
        let mut doc = Document::default();
        let mut current: Option<(String, String)> = None;
        let mut skip_header = false;
        for line in text.lines() {
            if line.contains('\u{c}') {
                // A form feed ends a page; the next line is the running header.
                skip_header = line
                    .trim_matches(|c: char| c == '\u{c}' || c.is_whitespace())
                    .is_empty();
                continue;
            }
            if skip_header {
                skip_header = false;
                continue;
            }
            if line.trim_end().ends_with(']') && line.contains("[Page ") {
                continue;
            }
            if let Some(id) = heading(line) {
                if let Some((k, v)) = current.take() {
                    doc.sections.entry(k).or_insert(v);
                }
                current = Some((id, format!("{line}\n")));
                continue;
            }
            if let Some((_, body)) = current.as_mut() {
                body.push_str(line);
                body.push('\n');
            }
        }
        if let Some((k, v)) = current {
            doc.sections.entry(k).or_insert(v);
        }
        doc
    }
}

/// Collapse whitespace and rejoin words that a line break split after a hyphen.
pub fn normalise(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut out = String::with_capacity(s.len());
    for w in words {
        let joined = (out.ends_with('-') && ends_word_hyphen(&out)) || ends_qname_prefix(&out);
        if !out.is_empty() && !joined {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// `calendar-` (a letter before the hyphen) continues on the next line; ` - ` does not.
fn ends_word_hyphen(s: &str) -> bool {
    let mut it = s.chars().rev();
    it.next();
    it.next().is_some_and(|c| c.is_alphanumeric())
}

/// `DAV:` / `CALDAV:` / `CS:` at a line end is a qualified name the line break split.
fn ends_qname_prefix(s: &str) -> bool {
    ["DAV:", "CALDAV:", "CS:"].iter().any(|p| {
        s.strip_suffix(p)
            .is_some_and(|rest| !rest.ends_with(|c: char| c.is_alphanumeric()))
    })
}

/// The fragments of a quote between `[...]` elisions, normalised, empty ones dropped.
pub fn fragments(quote: &str) -> Vec<String> {
    quote
        .split("[...]")
        .map(normalise)
        .filter(|f| !f.is_empty())
        .collect()
}

/// The shipped texts, loaded on demand from a folder.
pub struct Library {
    dir: std::path::PathBuf,
    docs: BTreeMap<String, Option<Document>>,
}

impl Library {
    pub fn new(dir: &Path) -> Library {
        Library {
            dir: dir.to_path_buf(),
            docs: BTreeMap::new(),
        }
    }

    /// The normalised text of a cited section (`RFC4791 §9.9`), or why it cannot be had.
    pub fn section(&mut self, reference: &str) -> Result<String, String> {
        let (doc, sec) = reference
            .split_once(" §")
            .ok_or_else(|| format!("{reference:?} is not a reference like `RFC4791 §9.9`"))?;
        let file = file_of(doc).ok_or_else(|| format!("{doc:?} names no known document"))?;
        let dir = &self.dir;
        let parsed = self.docs.entry(file.clone()).or_insert_with(|| {
            crate::embedded::read_to_string(&dir.join(&file))
                .ok()
                .map(|t| Document::parse(&t))
        });
        let d = parsed
            .as_ref()
            .ok_or_else(|| format!("{doc} is not shipped in {}", dir.join(&file).display()))?;
        d.sections
            .get(sec)
            .map(|t| normalise(t))
            .ok_or_else(|| format!("{doc} has no section {sec}"))
    }

    /// Check that every fragment of `quote` occurs, in order, in one of the cited sections.
    pub fn check_quote(&mut self, quote: &str, cited: &[String]) -> Result<(), String> {
        let mut texts = Vec::new();
        for c in cited {
            texts.push(self.section(c)?);
        }
        let frags = fragments(quote);
        if frags.is_empty() {
            return Err("the quote is empty".into());
        }
        // Position reached in each cited section: fragments from one section keep their order.
        let mut reached = vec![0usize; texts.len()];
        for f in &frags {
            let hit = texts.iter().enumerate().find_map(|(i, t)| {
                t[reached[i]..]
                    .find(f.as_str())
                    .map(|p| (i, reached[i] + p))
            });
            match hit {
                Some((i, p)) => reached[i] = p + f.len(),
                None => {
                    return Err(format!(
                        "not verbatim in {}: {:?}",
                        cited.join(" or "),
                        closest_miss(f, &texts)
                    ))
                }
            }
        }
        Ok(())
    }
}

/// The longest prefix of `frag` found in any text, to point at where the quote departs.
fn closest_miss(frag: &str, texts: &[String]) -> String {
    let words: Vec<&str> = frag.split(' ').collect();
    let mut good = 0;
    for n in 1..=words.len() {
        let prefix = words[..n].join(" ");
        if texts.iter().any(|t| t.contains(&prefix)) {
            good = n;
        } else {
            break;
        }
    }
    if good == 0 {
        format!("{frag} (no word of it matches)")
    } else {
        format!(
            "{} >>> {}",
            words[..good].join(" "),
            words[good..].join(" ")
        )
    }
}

/// The strongest BCP 14 keyword of a quote (RFC 2119): MUST > SHOULD > MAY; None without one.
pub fn level_of(quote: &str) -> Option<Level> {
    let text = fragments(quote).join(" ");
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |set: &[&str]| words.iter().any(|w| set.contains(w));
    if has(&["MUST", "SHALL", "REQUIRED"]) {
        Some(Level::Must)
    } else if has(&["SHOULD", "RECOMMENDED"]) {
        Some(Level::Should)
    } else if has(&["MAY", "OPTIONAL"]) {
        Some(Level::May)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "1.  Intro\n\n   The server MUST do\n   things.\n\nX, et al.     Standards Track     [Page 1]\n\u{c}\nRFC 1 Title Date\n\n   More calendar-\n   data here.\n\n1.1.  Sub\n\n   Clients SHOULD wait.\n";

    #[test]
    fn sections_drop_page_breaks_and_rejoin_hyphens() {
        let d = Document::parse(TEXT);
        let intro = normalise(&d.sections["1"]);
        assert_eq!(
            intro,
            "1. Intro The server MUST do things. More calendar-data here."
        );
        assert!(normalise(&d.sections["1.1"]).contains("Clients SHOULD wait."));
        assert_eq!(
            normalise("the DAV:\n   collection and CALDAV: calendar"),
            "the DAV:collection and CALDAV:calendar"
        );
    }

    #[test]
    fn status_code_titles_are_headings() {
        let d = Document::parse("12.  Use\n   Text.\n12.1.  412 Precondition Failed\n   Body MUST.\n   2.  not a heading\n");
        assert!(normalise(&d.sections["12.1"]).contains("Body MUST."));
        assert!(!d.sections["12"].contains("Body"));
    }

    #[test]
    fn levels_follow_the_strongest_keyword() {
        assert_eq!(level_of("x MUST NOT y"), Some(Level::Must));
        assert_eq!(level_of("x SHOULD y [...] z MAY"), Some(Level::Should));
        assert_eq!(level_of("OPTIONAL."), Some(Level::May));
        assert_eq!(level_of("must, lower case"), None);
    }

    #[test]
    fn file_names() {
        assert_eq!(file_of("RFC4791").as_deref(), Some("rfc4791.txt"));
        assert_eq!(
            file_of("caldav-ctag-03").as_deref(),
            Some("caldav-ctag.txt")
        );
        assert_eq!(file_of("nonsense"), None);
    }
}
