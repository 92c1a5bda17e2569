//! `reports/index.html`: the servers × RFC areas matrix as a heat map, one self-contained page.
//! A cell's colour is the share of the scenarios that ran (pass, fail or warn) that did not
//! fail; clicking it (or opening its `#c-SERVER-GROUP` link) shows the scenarios behind it with
//! their outcome and reason. Everything shown is rendered and escaped here; the script
//! (matrix.js) only shows and hides.

use super::{
    anchor, area_key, counts, esc, family, group_of, mark_label, page, server_title, Counts,
};
use crate::outcome::Kind;
use crate::report::{Results, ScenarioResult};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub(super) const MATRIX_JS: &str = include_str!("matrix.js");

/// The cells of one area: for each server, its scenarios of that area.
type Cells<'a> = Vec<Vec<&'a ScenarioResult>>;

/// The id of a cell's list (also its deep link).
fn cell_id(server: &str, group: &str) -> String {
    anchor(&format!("c-{server}-{group}"))
}

fn server_key(r: &Results, i: usize) -> String {
    r.server_name
        .clone()
        .unwrap_or_else(|| format!("server{}", i + 1))
}

/// The heat map cell: percentage without fail, and what failed or warned.
fn cell(id: &str, c: &Counts) -> String {
    let n = |k: Kind| c.get(&k).copied().unwrap_or(0);
    let run = n(Kind::Pass) + n(Kind::Fail) + n(Kind::Warn);
    let title: Vec<String> = Kind::ALL.iter().map(|k| format!("{k} {}", n(*k))).collect();
    let title = title.join(" · ");
    let id = esc(id);
    if run == 0 {
        let total: usize = c.values().sum();
        if total == 0 {
            return "<td class=\"hm empty\"></td>".into();
        }
        return format!(
            "<td class=\"hm\"><a class=\"cell none\" href=\"#{id}\" title=\"{title}\">–<small>none ran</small></a></td>"
        );
    }
    let ok = (run - n(Kind::Fail)) as f64 / run as f64;
    let bucket = (ok * 10.0).floor() as usize;
    let detail = match (n(Kind::Fail), n(Kind::Warn)) {
        (0, 0) => format!("{} pass", n(Kind::Pass)),
        (0, w) => format!("{w} warn"),
        (f, _) => format!("{f} fail"),
    };
    format!(
        "<td class=\"hm\"><a class=\"cell h{bucket}\" href=\"#{id}\" title=\"{title}\">{:.0}%<small>{detail}</small></a></td>",
        ok * 100.0
    )
}

/// The scenarios behind one cell, worst first.
fn cell_list(id: &str, heading: &str, list: &[&ScenarioResult]) -> String {
    let c = counts(list.iter().copied());
    let mut s = format!(
        "<section class=\"cell-list\" id=\"{}\" hidden><h2>{}</h2><p class=\"counts\">",
        esc(id),
        esc(heading)
    );
    for k in Kind::ALL {
        let _ = write!(
            s,
            "<span class=\"dot o-{k}\"></span>{k} <b data-count=\"{k}\">{}</b> ",
            c.get(&k).copied().unwrap_or(0)
        );
    }
    s.push_str("</p><ul class=\"list\">");
    let mut sorted = list.to_vec();
    let rank = |k: Kind| match k {
        Kind::Fail => 0,
        Kind::Inconclusive => 1,
        Kind::Warn => 2,
        Kind::Ignored => 3,
        Kind::Pass => 4,
    };
    sorted.sort_by(|a, b| (rank(a.outcome), &a.name).cmp(&(rank(b.outcome), &b.name)));
    for sc in sorted {
        let _ = write!(
            s,
            "<li data-outcome=\"{0}\"><span class=\"badge o-{0}\">{0}</span> <span class=\"name\">{1}</span> <span class=\"spec\">{2}</span> <span class=\"level\">{3}</span>",
            sc.outcome,
            esc(&sc.name),
            esc(&sc.spec.join(", ")),
            sc.level
        );
        if let Some(m) = sc.baseline {
            let _ = write!(s, " <span class=\"bl b-{0}\">{0}</span>", mark_label(m));
        }
        if let Some(r) = &sc.reason {
            let _ = write!(s, "<div class=\"reason\">{}</div>", esc(r));
        }
        s.push_str("</li>");
    }
    s.push_str("</ul></section>\n");
    s
}

/// A server's panel: its counts, then each area with its bar, linking to that area's cell.
fn server_panel(id: &str, key: &str, r: &Results) -> String {
    let c = counts(r.scenarios.iter());
    let mut s = format!(
        "<section class=\"cell-list\" id=\"{}\" hidden><h2>{} — {}</h2><p class=\"counts\">",
        esc(id),
        esc(key),
        esc(&server_title(r))
    );
    for k in Kind::ALL {
        let _ = write!(
            s,
            "<span class=\"dot o-{k}\"></span>{k} <b data-count=\"{k}\">{}</b> ",
            c.get(&k).copied().unwrap_or(0)
        );
    }
    s.push_str("</p><table class=\"areas\"><tbody>");
    let mut by: BTreeMap<(u8, String), (String, Vec<&ScenarioResult>)> = BTreeMap::new();
    for sc in &r.scenarios {
        let g = group_of(&sc.name);
        by.entry(area_key(g))
            .or_insert_with(|| (sc.area.clone().unwrap_or_else(|| g.to_string()), Vec::new()))
            .1
            .push(sc);
    }
    for ((_, g), (title, list)) in by {
        let _ = write!(
            s,
            "<tr><td><a href=\"#{}\">{}</a></td><td class=\"num\">{}</td><td class=\"wide\">{}</td></tr>",
            esc(&cell_id(key, &g)),
            esc(&title),
            list.len(),
            super::bar(&counts(list.iter().copied()), "bar")
        );
    }
    s.push_str("</tbody></table></section>\n");
    s
}

/// One row per server: its version, date and counts (read by the browser check).
fn server_table(runs: &[Results]) -> String {
    let mut s = String::from(
        "<table class=\"servers\"><thead><tr><th>server</th><th>version</th><th>date</th><th class=\"wide\">outcomes</th>",
    );
    for k in Kind::ALL {
        let _ = write!(s, "<th class=\"num\">{k}</th>");
    }
    s.push_str("</tr></thead><tbody>");
    for (i, r) in runs.iter().enumerate() {
        let key = server_key(r, i);
        let c = counts(r.scenarios.iter());
        let _ = write!(
            s,
            "<tr data-server=\"{}\"><th><a href=\"#{}\">{}</a></th><td>{}</td><td class=\"date\">{}</td><td class=\"wide\">{}</td>",
            esc(&key),
            esc(&cell_id(&key, "all")),
            esc(&key),
            esc(&server_title(r)),
            esc(&r.date),
            super::bar(&c, "bar")
        );
        for k in Kind::ALL {
            let _ = write!(
                s,
                "<td class=\"num n-{k}\" data-kind=\"{k}\">{}</td>",
                c.get(&k).copied().unwrap_or(0)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// The areas of all runs: group → (title, the scenarios of each server).
fn by_area(runs: &[Results]) -> BTreeMap<(u8, String), (String, Cells<'_>)> {
    let mut m: BTreeMap<(u8, String), (String, Cells)> = BTreeMap::new();
    for (i, r) in runs.iter().enumerate() {
        for s in &r.scenarios {
            let g = group_of(&s.name);
            let e = m.entry(area_key(g)).or_insert_with(|| {
                let title = s.area.clone().unwrap_or_else(|| g.to_string());
                (title, vec![Vec::new(); runs.len()])
            });
            e.1[i].push(s);
        }
    }
    m
}

/// The heat map table and, after it, every cell's list.
fn heat_map(runs: &[Results]) -> (String, String) {
    let keys: Vec<String> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| server_key(r, i))
        .collect();
    let mut t = String::from("<table class=\"heat\"><thead><tr><th class=\"area\">area</th>");
    for (k, r) in keys.iter().zip(runs) {
        let _ = write!(
            t,
            "<th class=\"srv\" title=\"{}\"><span>{}</span></th>",
            esc(&server_title(r)),
            esc(k)
        );
    }
    t.push_str("</tr></thead><tbody><tr class=\"total\"><th class=\"area\">All areas</th>");
    let mut lists = String::new();
    for (k, r) in keys.iter().zip(runs) {
        let id = cell_id(k, "all");
        t.push_str(&cell(&id, &counts(r.scenarios.iter())));
        lists.push_str(&server_panel(&id, k, r));
    }
    t.push_str("</tr>");
    let mut last_family = String::new();
    for ((_, g), (title, cells)) in by_area(runs) {
        let fam = family(&g);
        if fam != last_family {
            let _ = write!(
                t,
                "<tr class=\"fam\"><th colspan=\"{}\">{}</th></tr>",
                runs.len() + 1,
                esc(&fam)
            );
            last_family = fam;
        }
        let _ = write!(
            t,
            "<tr><th class=\"area\" title=\"{}\">{}</th>",
            esc(&g),
            esc(&title)
        );
        for (k, list) in keys.iter().zip(&cells) {
            let id = cell_id(k, &g);
            t.push_str(&cell(&id, &counts(list.iter().copied())));
            if !list.is_empty() {
                lists.push_str(&cell_list(&id, &format!("{k} — {title}"), list));
            }
        }
        t.push_str("</tr>\n");
    }
    t.push_str("</tbody></table>");
    (t, lists)
}

/// The colour scale of the heat map.
fn scale() -> String {
    let mut s = String::from(
        "<div class=\"scale\">share of the scenarios run (pass, fail, warn) that did not fail: ",
    );
    for b in 0..=10 {
        let _ = write!(s, "<span class=\"cell h{b}\">{}%</span>", b * 10);
    }
    s.push_str(" <span class=\"cell none\">none ran</span></div>");
    s
}

/// The page of `reports/index.html`.
pub fn index(runs: &[Results]) -> String {
    let mut dates: Vec<&str> = runs.iter().map(|r| r.date.as_str()).collect();
    dates.sort();
    dates.dedup();
    let scenarios = runs.iter().map(|r| r.scenarios.len()).max().unwrap_or(0);
    let (table, lists) = heat_map(runs);
    let body = format!(
        "<header><h1>CalDAV conformance matrix</h1><p class=\"sub\">{} servers · {scenarios} scenarios · runs of {}</p></header>\n<main class=\"matrix\">\n\
         <p class=\"intro\">Each scenario checks one quoted requirement of an RFC section against a real server. \
         Click a cell for the scenarios behind it, with their outcome and reason. \
         The same data as Markdown: <code>reports/matrix.md</code>.</p>\n{}\n{}\n{table}\n</main>\n\
         <aside id=\"panel\" hidden><button type=\"button\" id=\"close\" title=\"close\">×</button>\n{lists}</aside>\n",
        runs.len(),
        esc(&dates.join(", ")),
        server_table(runs),
        scale(),
    );
    page("CalDAV conformance matrix", &body, MATRIX_JS)
}
