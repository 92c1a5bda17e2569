//! A small namespace-resolved XML tree for the mutation proxy: parse a WebDAV body, edit it
//! structurally, and write it back with prefixes of our choosing (so a mutation never depends
//! on the prefixes a server happens to use).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use std::collections::BTreeMap;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CS: &str = "http://calendarserver.org/ns/";

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    El(El),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct El {
    pub ns: String,
    pub local: String,
    /// (namespace, local name, value); the namespace is empty for unprefixed attributes.
    pub attrs: Vec<(String, String, String)>,
    pub children: Vec<Node>,
}

impl El {
    pub fn new(ns: &str, local: &str) -> El {
        El {
            ns: ns.into(),
            local: local.into(),
            attrs: Vec::new(),
            children: Vec::new(),
        }
    }

    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    pub fn elements(&self) -> impl Iterator<Item = &El> {
        self.children.iter().filter_map(|n| match n {
            Node::El(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn elements_mut(&mut self) -> impl Iterator<Item = &mut El> {
        self.children.iter_mut().filter_map(|n| match n {
            Node::El(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn child(&self, ns: &str, local: &str) -> Option<&El> {
        self.elements().find(|e| e.is(ns, local))
    }

    pub fn child_mut(&mut self, ns: &str, local: &str) -> Option<&mut El> {
        self.elements_mut().find(|e| e.is(ns, local))
    }

    /// Keep only the element children for which `keep` holds (text is kept).
    pub fn retain(&mut self, mut keep: impl FnMut(&El) -> bool) {
        self.children.retain(|n| match n {
            Node::El(e) => keep(e),
            Node::Text(_) => true,
        });
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            match n {
                Node::Text(t) => s.push_str(t),
                Node::El(e) => s.push_str(&e.text()),
            }
        }
        s
    }

    pub fn set_text(&mut self, t: &str) {
        self.children = vec![Node::Text(t.to_string())];
    }

    /// Visit this element and every descendant, parents first.
    pub fn walk_mut(&mut self, f: &mut impl FnMut(&mut El)) {
        f(self);
        for c in self.elements_mut() {
            c.walk_mut(f);
        }
    }

    pub fn walk(&self, f: &mut impl FnMut(&El)) {
        f(self);
        for c in self.elements() {
            c.walk(f);
        }
    }
}

pub fn parse(body: &[u8]) -> Result<El, String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let mut r = NsReader::from_str(text);
    r.config_mut().trim_text(false);
    let mut stack: Vec<El> = Vec::new();
    let mut root = None;
    let ns_of = |res: ResolveResult| -> Result<String, String> {
        match res {
            ResolveResult::Bound(ns) => Ok(String::from_utf8_lossy(ns.as_ref()).into_owned()),
            ResolveResult::Unbound => Ok(String::new()),
            ResolveResult::Unknown(p) => Err(format!(
                "undeclared prefix {:?}",
                String::from_utf8_lossy(&p)
            )),
        }
    };
    loop {
        let (res, ev) = r.read_resolved_event().map_err(|e| e.to_string())?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let mut el = El::new(
                    &ns_of(res)?,
                    &String::from_utf8_lossy(e.local_name().as_ref()),
                );
                for a in e.attributes() {
                    let a = a.map_err(|e| e.to_string())?;
                    let key = a.key;
                    if key.as_ref() == b"xmlns" || key.as_ref().starts_with(b"xmlns:") {
                        continue;
                    }
                    let (ares, alocal) = r.resolve_attribute(key);
                    let v = a.unescape_value().map_err(|e| e.to_string())?;
                    el.attrs.push((
                        ns_of(ares)?,
                        String::from_utf8_lossy(alocal.as_ref()).into_owned(),
                        v.into_owned(),
                    ));
                }
                if matches!(ev, Event::Empty(_)) {
                    attach(&mut stack, &mut root, el);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or("unexpected end tag")?;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let s = t.xml_content().map_err(|e| e.to_string())?;
                push_text(&mut stack, &s);
            }
            Event::CData(t) => {
                let s = t.xml_content().map_err(|e| e.to_string())?;
                push_text(&mut stack, &s);
            }
            Event::GeneralRef(g) => {
                let s = match g.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = g.decode().map_err(|e| e.to_string())?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| format!("unknown entity &{name};"))?
                            .to_string()
                    }
                };
                push_text(&mut stack, &s);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or_else(|| "no root element".into())
}

fn attach(stack: &mut [El], root: &mut Option<El>, el: El) {
    match stack.last_mut() {
        Some(p) => p.children.push(Node::El(el)),
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [El], s: &str) {
    if let Some(p) = stack.last_mut() {
        if let Some(Node::Text(t)) = p.children.last_mut() {
            t.push_str(s);
        } else {
            p.children.push(Node::Text(s.to_string()));
        }
    }
}

/// How namespaces are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefixes {
    /// `D:`, `C:`, `CS:` and `ns1:`… for the rest.
    Usual,
    /// Unusual but equivalent prefixes (`z0:`, `z1:`…), DAV: as the default namespace.
    Unusual,
}

pub fn write(root: &El, style: Prefixes) -> Vec<u8> {
    let mut used = Vec::new();
    root.walk(&mut |e| {
        if !e.ns.is_empty() && !used.contains(&e.ns) {
            used.push(e.ns.clone());
        }
        for (ns, _, _) in &e.attrs {
            if !ns.is_empty() && !used.contains(ns) {
                used.push(ns.clone());
            }
        }
    });
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (i, ns) in used.iter().enumerate() {
        let p = match (style, ns.as_str()) {
            (Prefixes::Usual, DAV) => "D".to_string(),
            (Prefixes::Usual, CALDAV) => "C".to_string(),
            (Prefixes::Usual, CS) => "CS".to_string(),
            (Prefixes::Usual, _) => format!("ns{i}"),
            (Prefixes::Unusual, DAV) => String::new(),
            (Prefixes::Unusual, _) => format!("z{i}"),
        };
        map.insert(ns.clone(), p);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    write_el(root, &map, true, &mut out);
    out.into_bytes()
}

fn qname(ns: &str, local: &str, map: &BTreeMap<String, String>) -> String {
    match map.get(ns) {
        Some(p) if !p.is_empty() => format!("{p}:{local}"),
        _ => local.to_string(),
    }
}

fn write_el(e: &El, map: &BTreeMap<String, String>, root: bool, out: &mut String) {
    let name = qname(&e.ns, &e.local, map);
    out.push('<');
    out.push_str(&name);
    if root {
        for (ns, p) in map {
            if p.is_empty() {
                out.push_str(&format!(" xmlns=\"{}\"", esc(ns)));
            } else {
                out.push_str(&format!(" xmlns:{p}=\"{}\"", esc(ns)));
            }
        }
    } else if e.ns.is_empty() && map.values().any(String::is_empty) {
        // An element in no namespace below a default namespace declaration.
        out.push_str(" xmlns=\"\"");
    }
    for (ns, local, v) in &e.attrs {
        let n = if ns.is_empty() {
            local.clone()
        } else {
            qname(ns, local, map)
        };
        out.push_str(&format!(" {n}=\"{}\"", esc(v)));
    }
    if e.children.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for c in &e.children {
        match c {
            Node::Text(t) => out.push_str(&esc(t)),
            Node::El(k) => write_el(k, map, false, out),
        }
    }
    out.push_str(&format!("</{name}>"));
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\r' => o.push_str("&#13;"),
            c => o.push(c),
        }
    }
    o
}
