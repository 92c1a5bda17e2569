//! Namespace-aware XML: a small element tree built with quick-xml, qualified names with the
//! suite's fixed prefixes (D:, C:, CS:, ICAL:), and the WebDAV multistatus model (RFC 4918 §13)
//! with hrefs normalised so that percent-encoding and absolute-versus-path forms compare equal.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use std::fmt;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CS: &str = "http://calendarserver.org/ns/";

/// Prefixes a scenario may use in property and element names.
const PREFIXES: &[(&str, &str)] = &[
    ("D", DAV),
    ("C", CALDAV),
    ("CS", CS),
    ("ICAL", "http://apple.com/ns/ical/"),
    ("CARD", "urn:ietf:params:xml:ns:carddav"),
];

/// A namespace-qualified name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QName {
    pub ns: String,
    pub local: String,
}

impl QName {
    pub fn new(ns: &str, local: &str) -> Self {
        QName {
            ns: ns.to_string(),
            local: local.to_string(),
        }
    }

    /// `D:getetag`, `CS:getctag` or Clark notation `{ns}local`.
    pub fn parse(s: &str) -> Result<QName, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix('{') {
            if let Some((ns, local)) = rest.split_once('}') {
                if !local.is_empty() {
                    return Ok(QName::new(ns, local));
                }
            }
        } else if let Some((p, local)) = s.split_once(':') {
            if let Some((_, ns)) = PREFIXES.iter().find(|(k, _)| *k == p) {
                if !local.is_empty() {
                    return Ok(QName::new(ns, local));
                }
            }
            return Err(format!(
                "unknown namespace prefix in {s:?}: use D:, C:, CS:, ICAL:, CARD: or {{namespace}}local"
            ));
        }
        Err(format!(
            "{s:?} is not a qualified name: write D:name, C:name, CS:name or {{namespace}}name"
        ))
    }
}

impl fmt::Display for QName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match PREFIXES.iter().find(|(_, ns)| *ns == self.ns) {
            Some((p, _)) => write!(f, "{p}:{}", self.local),
            None => write!(f, "{{{}}}{}", self.ns, self.local),
        }
    }
}

/// An XML element with its children; text is kept as the concatenated character data.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub name: QName,
    pub children: Vec<Element>,
    pub text: String,
    /// Attributes with their namespace-qualified names (an unprefixed attribute is in no
    /// namespace: `ns` is empty), values unescaped; namespace declarations are left out.
    pub attrs: Vec<(QName, String)>,
}

impl Element {
    /// The value of the attribute with this local name in no namespace (`name="VEVENT"`).
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.ns.is_empty() && k.local == local)
            .map(|(_, v)| v.as_str())
    }

    pub fn child(&self, name: &QName) -> Option<&Element> {
        self.children.iter().find(|c| &c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a QName) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| &c.name == name)
    }

    /// All character data below this element, trimmed.
    pub fn deep_text(&self) -> String {
        let mut s = String::new();
        self.collect_text(&mut s);
        s.trim().to_string()
    }

    fn collect_text(&self, out: &mut String) {
        out.push_str(&self.text);
        for c in &self.children {
            c.collect_text(out);
        }
    }

    /// A one-line canonical rendering: `<D:collection/><C:calendar/>` or the trimmed text.
    pub fn value_repr(&self) -> String {
        if self.children.is_empty() {
            return self.text.trim().to_string();
        }
        let mut kids: Vec<String> = self.children.iter().map(Element::canonical).collect();
        kids.sort();
        kids.join("")
    }

    /// `<C:comp name="VEVENT"/>`: attributes sorted by name, namespace-aware (an attribute in
    /// a namespace is written like an element name, `D:x` or `{urn:y}x`), values escaped.
    fn canonical(&self) -> String {
        let mut attrs: Vec<String> = self
            .attrs
            .iter()
            .map(|(k, v)| {
                let name = if k.ns.is_empty() {
                    k.local.clone()
                } else {
                    k.to_string()
                };
                format!(" {name}=\"{}\"", quick_xml::escape::escape(v.as_str()))
            })
            .collect();
        attrs.sort();
        let attrs = attrs.concat();
        if self.children.is_empty() && self.text.trim().is_empty() {
            format!("<{}{attrs}/>", self.name)
        } else {
            format!(
                "<{}{attrs}>{}</{}>",
                self.name,
                self.value_repr(),
                self.name
            )
        }
    }
}

/// Parse a whole XML document into its root element. Errors name the byte position.
pub fn parse(body: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(body).map_err(|e| {
        format!(
            "XML body is not valid UTF-8 (at byte {}): {e}",
            e.valid_up_to()
        )
    })?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let pos = reader.buffer_position();
        let (res, ev) = reader
            .read_resolved_event()
            .map_err(|e| format!("malformed XML near byte {pos}: {e}"))?;
        match ev {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(format!(
                    "malformed XML near byte {pos}: content after the root element"
                ));
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = QName {
                    ns: namespace(res, pos)?,
                    local: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                };
                let el = Element {
                    name,
                    children: Vec::new(),
                    text: String::new(),
                    attrs: attributes(&reader, e, pos)?,
                };
                if matches!(ev, Event::Empty(_)) {
                    attach(&mut stack, &mut root, el);
                } else {
                    if stack.len() > 256 {
                        return Err("XML nesting deeper than 256 levels".into());
                    }
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| format!("malformed XML near byte {pos}: unexpected end tag"))?;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| format!("malformed XML text near byte {pos}: {e}"))?;
                push_text(&mut stack, &s, pos)?;
            }
            Event::CData(t) => {
                let s = t
                    .xml_content()
                    .map_err(|e| format!("malformed CDATA near byte {pos}: {e}"))?;
                push_text(&mut stack, &s, pos)?;
            }
            Event::GeneralRef(r) => push_text(&mut stack, &entity(&r, pos)?, pos)?,
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!(
            "malformed XML: document ends inside <{}>",
            stack.last().map(|e| e.name.to_string()).unwrap_or_default()
        ));
    }
    root.ok_or_else(|| "empty XML document: no root element".to_string())
}

/// The attributes of a start tag, namespace-resolved (namespace declarations left out).
fn attributes(
    reader: &NsReader<&[u8]>,
    e: &quick_xml::events::BytesStart,
    pos: u64,
) -> Result<Vec<(QName, String)>, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| format!("malformed XML attribute near byte {pos}: {err}"))?;
        let key = a.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let v = a
            .unescape_value()
            .map_err(|err| format!("malformed XML attribute value near byte {pos}: {err}"))?;
        let ns = namespace(reader.resolve_attribute(a.key).0, pos)?;
        let local = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
        attrs.push((QName { ns, local }, v.into_owned()));
    }
    Ok(attrs)
}

/// The text of a character or predefined entity reference (`&#233;`, `&amp;`).
fn entity(r: &quick_xml::events::BytesRef, pos: u64) -> Result<String, String> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => Ok(c.to_string()),
        Ok(None) => {
            let name = r
                .decode()
                .map_err(|e| format!("malformed entity near byte {pos}: {e}"))?;
            quick_xml::escape::resolve_predefined_entity(&name)
                .map(str::to_string)
                .ok_or_else(|| format!("malformed XML near byte {pos}: unknown entity &{name};"))
        }
        Err(e) => Err(format!(
            "malformed character reference near byte {pos}: {e}"
        )),
    }
}

/// The namespace a prefix resolved to (empty for none); an undeclared prefix is an error.
fn namespace(res: ResolveResult, pos: u64) -> Result<String, String> {
    match res {
        ResolveResult::Bound(ns) => Ok(String::from_utf8_lossy(ns.as_ref()).into_owned()),
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => Err(format!(
            "malformed XML near byte {pos}: undeclared namespace prefix {:?}",
            String::from_utf8_lossy(&p)
        )),
    }
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn push_text(stack: &mut [Element], s: &str, pos: u64) -> Result<(), String> {
    match stack.last_mut() {
        Some(p) => {
            p.text.push_str(s);
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(format!(
            "malformed XML near byte {pos}: text outside the root element"
        )),
    }
}

/// One propstat: the status code and its properties.
#[derive(Debug, Clone)]
pub struct PropStat {
    pub status: u16,
    pub props: Vec<Element>,
}

/// One DAV:response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Normalised path form of the href (decoded, without scheme and host).
    pub href: String,
    pub raw_href: String,
    pub status: Option<u16>,
    pub propstats: Vec<PropStat>,
}

impl Response {
    pub fn prop(&self, name: &QName) -> Option<(u16, &Element)> {
        self.propstats.iter().find_map(|ps| {
            ps.props
                .iter()
                .find(|p| &p.name == name)
                .map(|p| (ps.status, p))
        })
    }
}

/// A parsed DAV:multistatus.
#[derive(Debug, Clone)]
pub struct Multistatus {
    pub responses: Vec<Response>,
    pub sync_token: Option<String>,
}

impl Multistatus {
    pub fn from_element(root: &Element) -> Result<Multistatus, String> {
        if root.name != QName::new(DAV, "multistatus") {
            return Err(format!(
                "expected a DAV:multistatus body, got <{}>",
                root.name
            ));
        }
        let mut responses = Vec::new();
        for r in root.children_named(&QName::new(DAV, "response")) {
            let href_name = QName::new(DAV, "href");
            let hrefs: Vec<&Element> = r.children_named(&href_name).collect();
            let raw = hrefs
                .first()
                .map(|h| h.deep_text())
                .ok_or("a DAV:response has no DAV:href")?;
            let status = match r.child(&QName::new(DAV, "status")) {
                Some(s) => Some(parse_status_line(&s.deep_text())?),
                None => None,
            };
            let mut propstats = Vec::new();
            for ps in r.children_named(&QName::new(DAV, "propstat")) {
                let st = ps
                    .child(&QName::new(DAV, "status"))
                    .ok_or_else(|| format!("the propstat of {raw} has no DAV:status"))?;
                let props = ps
                    .child(&QName::new(DAV, "prop"))
                    .map(|p| p.children.clone())
                    .unwrap_or_default();
                propstats.push(PropStat {
                    status: parse_status_line(&st.deep_text())?,
                    props,
                });
            }
            // RFC 4918 §14.24: a response with a bare status may list several hrefs.
            for h in hrefs {
                let raw_href = h.deep_text();
                responses.push(Response {
                    href: normalize_href(&raw_href),
                    raw_href,
                    status,
                    propstats: propstats.clone(),
                });
            }
        }
        let sync_token = root
            .child(&QName::new(DAV, "sync-token"))
            .map(Element::deep_text);
        Ok(Multistatus {
            responses,
            sync_token,
        })
    }

    pub fn response(&self, href: &str) -> Option<&Response> {
        let n = normalize_href(href);
        self.responses.iter().find(|r| r.href == n)
    }
}

/// `HTTP/1.1 404 Not Found` → 404.
pub fn parse_status_line(s: &str) -> Result<u16, String> {
    s.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("malformed DAV:status {s:?}"))
}

/// Normalise an href for comparison: drop scheme and authority, percent-decode, drop a
/// trailing slash (collections may be reported either way).
pub fn normalize_href(href: &str) -> String {
    let h = href.trim();
    let path = if let Some(rest) = h
        .strip_prefix("http://")
        .or_else(|| h.strip_prefix("https://"))
    {
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        }
    } else {
        h
    };
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .into_owned();
    let trimmed = decoded.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The DAV:error precondition elements of an error body (RFC 4918 §16).
pub fn error_conditions(root: &Element) -> Vec<QName> {
    if root.name != QName::new(DAV, "error") {
        return Vec::new();
    }
    root.children.iter().map(|c| c.name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multistatus_with_namespaces() {
        let body = br#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/">
 <d:response><d:href>http://h:1/cal/a%20b.ics</d:href>
  <d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><cs:getctag/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
 </d:response>
 <d:response><d:href>/cal/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
 <d:sync-token>tok&amp;1</d:sync-token>
</d:multistatus>"#;
        let root = parse(body).unwrap();
        let ms = Multistatus::from_element(&root).unwrap();
        assert_eq!(ms.responses.len(), 2);
        assert_eq!(ms.responses[0].href, "/cal/a b.ics");
        assert_eq!(ms.sync_token.as_deref(), Some("tok&1"));
        let (st, el) = ms.responses[0].prop(&QName::new(DAV, "getetag")).unwrap();
        assert_eq!((st, el.deep_text().as_str()), (200, "\"1\""));
        assert_eq!(ms.response("/cal/gone.ics").unwrap().status, Some(404));
    }

    #[test]
    fn rejects_bad_xml() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"<x:a/>").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
        assert!(Multistatus::from_element(&parse(b"<a xmlns='DAV:'/>").unwrap()).is_err());
    }

    #[test]
    fn qnames() {
        assert_eq!(
            QName::parse("CS:getctag").unwrap(),
            QName::new(CS, "getctag")
        );
        assert_eq!(QName::parse("{urn:x}y").unwrap(), QName::new("urn:x", "y"));
        assert!(QName::parse("X:y").is_err());
        assert!(QName::parse("plain").is_err());
        assert_eq!(QName::new(CALDAV, "calendar").to_string(), "C:calendar");
    }

    #[test]
    fn canonical_form_keeps_attributes() {
        let body = br#"<C:supported-calendar-component-set xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:x="urn:x">
  <C:comp name="VTODO"/><C:comp x:b="2" name="VEVENT" a='&quot;1&amp;'/>
</C:supported-calendar-component-set>"#;
        let el = parse(body).unwrap();
        assert_eq!(
            el.value_repr(),
            r#"<C:comp a="&quot;1&amp;" name="VEVENT" {urn:x}b="2"/><C:comp name="VTODO"/>"#
        );
        assert_eq!(el.children[1].attr("name"), Some("VEVENT"));
        assert_eq!(el.children[1].attr("b"), None, "b is in a namespace");
        assert!(
            parse(br#"<a y:z="1"/>"#).is_err(),
            "undeclared attribute prefix"
        );
    }

    #[test]
    fn href_normalisation() {
        assert_eq!(normalize_href("https://x/a%40b/"), "/a@b");
        assert_eq!(normalize_href("/a@b"), "/a@b");
        assert_eq!(normalize_href("http://x"), "/");
    }
}
