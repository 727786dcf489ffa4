//! OpenAPI conformance checking against the official Atlassian (and Statuspage) specs.
//!
//! The specs are vendored in `specs/` at the workspace root (see `specs/SOURCES.md`). This
//! module finds the operation a recorded [`Exchange`] belongs to and checks that
//!
//! * the response status is declared for that operation (exactly, as an `NXX` range, or through
//!   a `default` response), and the JSON body validates against the declared schema
//!   ([`Specs::check_response`]);
//! * a request names an existing operation, carries its required query parameters, and its JSON
//!   body validates against the `requestBody` schema ([`Specs::check_request`]).
//!
//! The specs are OpenAPI 3.0 documents; their schemas are translated to JSON Schema 2020-12
//! before validation:
//!
//! * `nullable: true` becomes `"type": [t, "null"]` (plus `null` in an `enum`), or an
//!   `anyOf: [{"type": "null"}, …]` wrapper when the schema has no single `type`;
//! * `exclusiveMinimum`/`exclusiveMaximum` booleans (3.0 style) become the numeric 2020-12 form;
//! * `oneOf` becomes `anyOf`: the OpenAPI documents use `oneOf` for alternatives that are not
//!   mutually exclusive (the alternatives typically admit additional properties), so "matches
//!   more than one alternative" is not treated as an error; the body still has to match one;
//! * `format` is not asserted (account ids are wrongly `format: uuid` in the Org spec, see
//!   defect 4 in `SOURCES.md`); `readOnly` properties are not required in requests and
//!   `writeOnly` ones not in responses;
//! * keywords JSON Schema does not know (`discriminator`, `xml`, `example`, `x-…`) are dropped,
//!   a `type` that names a component schema (`"type": "GroupCounts"`) becomes a `$ref` to it,
//!   and any other invalid `type` (`"PartialStartDate"`) is dropped;
//! * `$ref`s to `#/components/schemas/X` are kept: the referenced schemas (transitively) are
//!   copied under a root `components` key of the validator's schema, so the refs resolve.
//!
//! Compiled validators are cached per (spec file, method, path template, status/media type).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, ValidationError, Validator};
use regex::Regex;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::family::Family;
use crate::record::Exchange;

/// Directory holding the vendored OpenAPI documents.
pub const SPECS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../specs");

/// HTTP methods an OpenAPI path item can declare (lower case, as the documents spell them).
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The spec files this module uses; [`files_for`] names them by index.
const FILES: [&str; 8] = [
    "admin-organization.2026-08-21.json",
    "admin-organization.2026-07-22.json",
    "admin-user-management.2026.json",
    "jira-platform-v3.2025-12.json",
    "jira-service-management.2025-09.json",
    "confluence-v1.2023-08.json",
    "confluence-v2.2025-09.json",
    "statuspage.2026-07.json",
];

/// The spec files that describe a family, most preferred first (index into [`FILES`]).
fn files_for(family: Family) -> &'static [usize] {
    match family {
        // The newest Org document first; the older one only for operations it alone has.
        Family::Org => &[0, 1],
        Family::UserManagement => &[2],
        Family::Jira => &[3],
        Family::Jsm => &[4],
        Family::ConfluenceV1 => &[5],
        Family::ConfluenceV2 => &[6],
        Family::Statuspage => &[7],
        Family::Control => &[],
    }
}

/// A spec file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConformanceError {
    /// The file does not exist or cannot be read.
    #[error("spec file {} is missing or unreadable: {reason}", path.display())]
    Missing {
        /// The file's path.
        path: PathBuf,
        /// What the file system said.
        reason: String,
    },
    /// The file is not a JSON object (an OpenAPI document).
    #[error("spec file {} is not a parsable OpenAPI JSON document: {reason}", path.display())]
    Unparsable {
        /// The file's path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// A recorded exchange that does not conform to the spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The exchange's API family.
    pub family: Family,
    /// The exchange's HTTP method.
    pub method: String,
    /// The exchange's path relative to the family's server URL.
    pub spec_path: String,
    /// The status code the simulator answered.
    pub status: u16,
    /// What is wrong, on one line; schema errors name the JSON pointer of the offending value.
    pub message: String,
}

impl Violation {
    fn new(exchange: &Exchange, message: impl Into<String>) -> Violation {
        Violation {
            family: exchange.family,
            method: exchange.method.clone(),
            spec_path: exchange.spec_path.clone(),
            status: exchange.status,
            message: one_line(&message.into()),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {} {} -> {}: {}",
            self.family.name(),
            self.method,
            self.spec_path,
            self.status,
            self.message
        )
    }
}

impl std::error::Error for Violation {}

/// The operation a concrete request path matches.
#[derive(Debug, Clone)]
pub struct Operation<'a> {
    /// The family whose spec declares the operation.
    pub family: Family,
    /// HTTP method, upper case.
    pub method: String,
    /// The path template as the spec writes it (a trailing-apostrophe key is given fixed),
    /// e.g. `/rest/api/3/group/member`.
    pub template: String,
    /// File name of the spec document (in [`SPECS_DIR`]) that declares the operation.
    pub spec_file: &'static str,
    /// The OpenAPI operation object.
    pub operation: &'a Value,
    /// The OpenAPI path item the operation belongs to (holds path-level `parameters`).
    pub path_item: &'a Value,
    doc: &'a Value,
}

impl<'a> Operation<'a> {
    /// The whole OpenAPI document the operation comes from.
    pub fn document(&self) -> &'a Value {
        self.doc
    }

    /// The operation's `operationId`, if the spec gives one.
    pub fn operation_id(&self) -> Option<&'a str> {
        self.operation.get("operationId").and_then(Value::as_str)
    }

    /// Whether the spec marks the operation deprecated.
    pub fn deprecated(&self) -> bool {
        self.operation
            .get("deprecated")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The declared response keys (`"200"`, `"4XX"`, `"default"`, …).
    pub fn declared_statuses(&self) -> Vec<&'a str> {
        self.operation
            .get("responses")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The operation's parameters (path-level ones included, operation-level ones overriding
    /// them by `name` + `in`), with `$ref`s resolved.
    pub fn parameters(&self) -> Vec<&'a Value> {
        let doc = self.doc;
        let mut out: Vec<&'a Value> = Vec::new();
        for list in [
            self.path_item.get("parameters"),
            self.operation.get("parameters"),
        ] {
            for p in list.and_then(Value::as_array).into_iter().flatten() {
                let p = resolve(doc, p);
                let key = (p.get("name"), p.get("in"));
                out.retain(|q| (q.get("name"), q.get("in")) != key);
                out.push(p);
            }
        }
        out
    }

    /// The response object declared for `status` (exact code, then `NXX`, then `default`),
    /// with `$ref`s resolved, and the key it was found under.
    pub fn response_for(&self, status: u16) -> Option<(&'a str, &'a Value)> {
        let responses = self.operation.get("responses")?.as_object()?;
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        let found = responses
            .get_key_value(exact.as_str())
            .or_else(|| {
                responses
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&range))
            })
            .or_else(|| responses.get_key_value("default"))?;
        Some((found.0.as_str(), resolve(self.doc, found.1)))
    }

    /// The request body object, with `$ref`s resolved, if the operation declares one.
    pub fn request_body(&self) -> Option<&'a Value> {
        self.operation
            .get("requestBody")
            .map(|b| resolve(self.doc, b))
    }

    fn label(&self) -> String {
        format!("{} {} {}", self.spec_file, self.method, self.template)
    }
}

/// One segment of a path template.
#[derive(Debug)]
enum Seg {
    /// A literal segment.
    Lit(String),
    /// `{param}`: any one non-empty segment.
    Param,
    /// Literal text mixed with parameters, e.g. `{key}.json`.
    Mixed(Regex),
}

impl Seg {
    /// Rank for choosing among several matching templates: literal beats mixed beats param.
    fn rank(&self) -> u8 {
        match self {
            Seg::Lit(_) => 0,
            Seg::Mixed(_) => 1,
            Seg::Param => 2,
        }
    }

    fn matches(&self, segment: &str) -> bool {
        match self {
            Seg::Lit(s) => s == segment,
            Seg::Param => !segment.is_empty(),
            Seg::Mixed(re) => re.is_match(segment),
        }
    }
}

/// One path template of a spec, ready for matching.
#[derive(Debug)]
struct RouteEntry {
    /// The key in `paths` exactly as written (possibly with the trailing-apostrophe defect).
    key: String,
    /// The key with the defect fixed.
    template: String,
    /// The template with every `{param}` replaced by `{}`.
    shape: String,
    segs: Vec<Seg>,
}

impl RouteEntry {
    fn new(key: &str) -> RouteEntry {
        let template = key.trim_end_matches('\'').to_owned();
        let segs = template.split('/').map(parse_segment).collect();
        RouteEntry {
            key: key.to_owned(),
            shape: shape_of(&template),
            template,
            segs,
        }
    }

    /// The rank vector when `path` matches, `None` otherwise.
    fn match_rank(&self, path: &str) -> Option<Vec<u8>> {
        let mut rank = Vec::with_capacity(self.segs.len());
        let mut parts = path.split('/');
        for seg in &self.segs {
            let part = parts.next()?;
            if !seg.matches(part) {
                return None;
            }
            rank.push(seg.rank());
        }
        if parts.next().is_some() {
            return None;
        }
        Some(rank)
    }
}

fn parse_segment(segment: &str) -> Seg {
    if !segment.contains('{') {
        return Seg::Lit(segment.to_owned());
    }
    if segment.starts_with('{') && segment.ends_with('}') && segment.matches('{').count() == 1 {
        return Seg::Param;
    }
    let mut pattern = String::from("^");
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        pattern.push_str(&regex::escape(&rest[..open]));
        pattern.push_str("[^/]+?");
        rest = match rest[open..].find('}') {
            Some(close) => &rest[open + close + 1..],
            None => "",
        };
    }
    pattern.push_str(&regex::escape(rest));
    pattern.push('$');
    match Regex::new(&pattern) {
        Ok(re) => Seg::Mixed(re),
        Err(_) => Seg::Lit(segment.to_owned()),
    }
}

/// A template with every `{param}` replaced by `{}` (axum's `{*rest}` wildcards are kept, so
/// they match no spec template).
fn shape_of(template: &str) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template.trim_end_matches('\'');
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        match after.find('}') {
            Some(close) if !after[1..].starts_with('*') => {
                out.push_str("{}");
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// One parsed spec document.
#[derive(Debug)]
struct SpecDoc {
    doc: Value,
    routes: Vec<RouteEntry>,
}

impl SpecDoc {
    fn load(path: &Path) -> Result<SpecDoc, ConformanceError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConformanceError::Missing {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        let mut doc: Value =
            serde_json::from_str(&text).map_err(|e| ConformanceError::Unparsable {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        let Some(obj) = doc.as_object_mut() else {
            return Err(ConformanceError::Unparsable {
                path: path.to_owned(),
                reason: "the top level is not an object".into(),
            });
        };
        obj.remove("_meta");
        let Some(paths) = obj.get("paths").and_then(Value::as_object) else {
            return Err(ConformanceError::Unparsable {
                path: path.to_owned(),
                reason: "no `paths` object".into(),
            });
        };
        let routes = paths.keys().map(|k| RouteEntry::new(k)).collect();
        Ok(SpecDoc { doc, routes })
    }

    fn path_item(&self, route: &RouteEntry) -> Option<&Value> {
        self.doc.get("paths")?.get(&route.key)
    }

    fn declares(&self, route: &RouteEntry, method: &str) -> bool {
        self.path_item(route)
            .and_then(|item| item.get(method))
            .is_some_and(Value::is_object)
    }
}

/// Which body a compiled validator checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    Request,
    Response,
}

/// Cache key of a compiled validator.
type ValidatorKey = (usize, String, String, String);

/// A compiled validator, or why the schema could not be compiled.
type Compiled = Arc<Result<Validator, String>>;

/// All spec documents, each parsed on first use and then kept.
#[derive(Debug)]
pub struct Specs {
    dir: PathBuf,
    docs: [OnceLock<Result<SpecDoc, ConformanceError>>; FILES.len()],
    validators: Mutex<HashMap<ValidatorKey, Compiled>>,
}

static SPECS: OnceLock<Result<Specs, ConformanceError>> = OnceLock::new();

impl Specs {
    /// The process-wide spec set, read from [`SPECS_DIR`]. Checks that every spec file exists;
    /// each document is parsed the first time it is needed (the Jira one is 2.4 MB).
    pub fn load() -> Result<&'static Specs, ConformanceError> {
        SPECS
            .get_or_init(|| Specs::open(Path::new(SPECS_DIR)))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A spec set reading from `dir`, without the process-wide cache.
    pub fn open(dir: &Path) -> Result<Specs, ConformanceError> {
        for file in FILES {
            let path = dir.join(file);
            if let Err(e) = std::fs::metadata(&path) {
                return Err(ConformanceError::Missing {
                    path,
                    reason: e.to_string(),
                });
            }
        }
        Ok(Specs {
            dir: dir.to_owned(),
            docs: Default::default(),
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// Parses every document now, reporting the first one that fails.
    pub fn preload(&self) -> Result<(), ConformanceError> {
        for index in 0..FILES.len() {
            self.doc(index)?;
        }
        Ok(())
    }

    fn doc(&self, index: usize) -> Result<&SpecDoc, ConformanceError> {
        let (Some(cell), Some(file)) = (self.docs.get(index), FILES.get(index)) else {
            return Err(ConformanceError::Missing {
                path: self.dir.clone(),
                reason: format!("no spec file number {index}"),
            });
        };
        cell.get_or_init(|| SpecDoc::load(&self.dir.join(file)))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The operation (method + path template) a concrete path matches, e.g.
    /// `("GET", "/rest/api/3/group/member")`. Only templates that declare `method` are
    /// considered; among several, the one with literal segments earliest wins, so
    /// `/rest/api/3/user/groups` matches that template rather than `/rest/api/3/user/{x}`.
    /// For [`Family::Org`] the newest document wins a tie with the older one.
    pub fn find_operation(
        &self,
        family: Family,
        method: &str,
        spec_path: &str,
    ) -> Option<Operation<'_>> {
        let method_lc = method.to_ascii_lowercase();
        let mut best: Option<(Vec<u8>, usize, &SpecDoc, &RouteEntry)> = None;
        for &index in files_for(family) {
            let Ok(spec) = self.doc(index) else { continue };
            for route in &spec.routes {
                let Some(rank) = route.match_rank(spec_path) else {
                    continue;
                };
                if !spec.declares(route, &method_lc) {
                    continue;
                }
                if best.as_ref().is_none_or(|(r, _, _, _)| rank < *r) {
                    best = Some((rank, index, spec, route));
                }
            }
        }
        let (_, index, spec, route) = best?;
        let path_item = spec.path_item(route)?;
        let operation = path_item.get(&method_lc)?;
        Some(Operation {
            family,
            method: method.to_ascii_uppercase(),
            template: route.template.clone(),
            spec_file: FILES.get(index).copied().unwrap_or_default(),
            operation,
            path_item,
            doc: &spec.doc,
        })
    }

    /// Whether the spec declares `method` on a path template. Parameter names do not matter
    /// (`{x}` matches any `{y}`), so the simulator's axum templates can be checked directly.
    pub fn has_route(&self, family: Family, method: &str, template: &str) -> bool {
        let method_lc = method.to_ascii_lowercase();
        let shape = shape_of(template);
        files_for(family)
            .iter()
            .filter_map(|&i| self.doc(i).ok())
            .any(|spec| {
                spec.routes
                    .iter()
                    .any(|r| r.shape == shape && spec.declares(r, &method_lc))
            })
    }

    /// Why no operation matches: which templates match the path and what they declare.
    fn explain_missing(&self, family: Family, method: &str, spec_path: &str) -> String {
        if family == Family::Control {
            return "the control API has no spec".into();
        }
        let mut errors = Vec::new();
        let mut declared: Vec<String> = Vec::new();
        for &index in files_for(family) {
            let spec = match self.doc(index) {
                Ok(spec) => spec,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            for route in spec
                .routes
                .iter()
                .filter(|r| r.match_rank(spec_path).is_some())
            {
                let methods: Vec<String> = METHODS
                    .iter()
                    .filter(|m| spec.declares(route, m))
                    .map(|m| m.to_ascii_uppercase())
                    .collect();
                declared.push(format!("{} [{}]", route.template, methods.join(", ")));
            }
        }
        let mut message = if declared.is_empty() {
            format!(
                "no path template of the {} spec matches {spec_path}",
                family.name()
            )
        } else {
            format!(
                "the {} spec does not declare {} on this path (matching templates: {})",
                family.name(),
                method.to_ascii_uppercase(),
                declared.join("; ")
            )
        };
        if !errors.is_empty() {
            message.push_str(&format!(" (spec load errors: {})", errors.join("; ")));
        }
        message
    }

    /// Validates a recorded response: the status must be declared for the operation (or a
    /// `default` response must exist), and when the spec gives a JSON schema for it, the JSON
    /// body must validate. A declared `Content-Type` must match the response's. An absent body
    /// is accepted (bodies are only recorded when they are JSON), and so is a body where the
    /// spec declares no content, except on a 204. [`Family::Control`] is never checked.
    pub fn check_response(&self, exchange: &Exchange) -> Result<(), Violation> {
        if exchange.family == Family::Control {
            return Ok(());
        }
        let op = self.operation_of(exchange)?;
        let Some((status_key, response)) = op.response_for(exchange.status) else {
            return Err(Violation::new(
                exchange,
                format!(
                    "status {} is not declared for {} (declared: {})",
                    exchange.status,
                    op.label(),
                    op.declared_statuses().join(", ")
                ),
            ));
        };
        let body = exchange.response_body.as_ref();
        if exchange.status == 204 && body.is_some_and(|b| !b.is_null()) {
            return Err(Violation::new(
                exchange,
                format!("a 204 response carries a body ({})", op.label()),
            ));
        }
        let content = response.get("content").and_then(Value::as_object);
        let Some(content) = content.filter(|c| !c.is_empty()) else {
            return Ok(());
        };
        if let Some(ct) = exchange.response_content_type.as_deref()
            && !content.keys().any(|k| media_type_matches(k, ct))
        {
            return Err(Violation::new(
                exchange,
                format!(
                    "Content-Type {ct} is not declared for status {status_key} of {} \
                     (declared: {})",
                    op.label(),
                    content.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let Some((media, media_obj)) = pick_media_type(content) else {
            return Ok(());
        };
        let (Some(schema), Some(body)) = (media_obj.get("schema"), body) else {
            return Ok(());
        };
        let slot = format!("response {status_key} {media}");
        let validator = self.validator(&op, &slot, schema, Mode::Response);
        validate(exchange, &op, &slot, &validator, body)
    }

    /// Validates a request: the operation exists, the required query parameters are present,
    /// and the JSON body validates against the `requestBody` schema (when the spec has one).
    /// A body where the spec declares none, a missing required body, and a non-JSON body sent
    /// as JSON are violations. [`Family::Control`] is never checked.
    pub fn check_request(&self, exchange: &Exchange) -> Result<(), Violation> {
        if exchange.family == Family::Control {
            return Ok(());
        }
        let op = self.operation_of(exchange)?;
        let present = query_names(&exchange.query);
        let missing: Vec<&str> = op
            .parameters()
            .into_iter()
            .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
            .filter(|p| p.get("required").and_then(Value::as_bool) == Some(true))
            .filter_map(|p| p.get("name").and_then(Value::as_str))
            .filter(|name| !present.iter().any(|q| q == name))
            .collect();
        if !missing.is_empty() {
            return Err(Violation::new(
                exchange,
                format!(
                    "required query parameter(s) {} missing ({})",
                    missing.join(", "),
                    op.label()
                ),
            ));
        }
        let has_body = exchange.request_body.is_some()
            || exchange
                .request_text
                .as_deref()
                .is_some_and(|t| !t.trim().is_empty());
        let Some(request_body) = op.request_body() else {
            if has_body {
                return Err(Violation::new(
                    exchange,
                    format!("the spec declares no request body for {}", op.label()),
                ));
            }
            return Ok(());
        };
        if !has_body {
            if request_body.get("required").and_then(Value::as_bool) == Some(true) {
                return Err(Violation::new(
                    exchange,
                    format!("the request body is required by {}", op.label()),
                ));
            }
            return Ok(());
        }
        let Some(content) = request_body.get("content").and_then(Value::as_object) else {
            return Ok(());
        };
        if let Some(ct) = exchange.request_content_type.as_deref()
            && !content.is_empty()
            && !content.keys().any(|k| media_type_matches(k, ct))
        {
            return Err(Violation::new(
                exchange,
                format!(
                    "request Content-Type {ct} is not accepted by {} (declared: {})",
                    op.label(),
                    content.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let Some((media, media_obj)) = pick_media_type(content) else {
            return Ok(());
        };
        let Some(schema) = media_obj.get("schema") else {
            return Ok(());
        };
        let Some(body) = exchange.request_body.as_ref() else {
            let sent_as_json = exchange
                .request_content_type
                .as_deref()
                .is_some_and(is_json_media);
            if sent_as_json {
                return Err(Violation::new(
                    exchange,
                    format!("the request body is not valid JSON ({})", op.label()),
                ));
            }
            return Ok(());
        };
        let slot = format!("request {media}");
        let validator = self.validator(&op, &slot, schema, Mode::Request);
        validate(exchange, &op, &slot, &validator, body)
    }

    fn operation_of(&self, exchange: &Exchange) -> Result<Operation<'_>, Violation> {
        self.find_operation(exchange.family, &exchange.method, &exchange.spec_path)
            .ok_or_else(|| {
                Violation::new(
                    exchange,
                    format!(
                        "unknown operation: {}",
                        self.explain_missing(
                            exchange.family,
                            &exchange.method,
                            &exchange.spec_path
                        )
                    ),
                )
            })
    }

    /// The compiled validator for one schema slot of an operation, compiling it on first use.
    fn validator(&self, op: &Operation<'_>, slot: &str, schema: &Value, mode: Mode) -> Compiled {
        let file = FILES
            .iter()
            .position(|f| *f == op.spec_file)
            .unwrap_or(usize::MAX);
        let key: ValidatorKey = (
            file,
            op.method.clone(),
            op.template.clone(),
            slot.to_owned(),
        );
        if let Some(found) = self.lock_validators().get(&key) {
            return Arc::clone(found);
        }
        // Compiled outside the lock: two threads may both compile, the result is the same.
        let compiled = Arc::new(compile(op.document(), schema, mode));
        self.lock_validators()
            .entry(key)
            .or_insert(compiled)
            .clone()
    }

    fn lock_validators(&self) -> std::sync::MutexGuard<'_, HashMap<ValidatorKey, Compiled>> {
        self.validators.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Checks every response in `exchanges` (see [`Specs::check_response`]), skipping
/// `fault_injected` exchanges and [`Family::Control`], and returns all violations. Requests
/// are not checked: simulator tests send malformed requests on purpose. If the specs cannot be
/// loaded, the result is one violation (on the first checkable exchange) saying so.
pub fn check_all(exchanges: &[Exchange]) -> Vec<Violation> {
    let mut checkable = exchanges
        .iter()
        .filter(|e| !e.fault_injected && e.family != Family::Control)
        .peekable();
    let specs = match Specs::load() {
        Ok(specs) => specs,
        Err(e) => {
            return checkable
                .peek()
                .map(|first| vec![Violation::new(first, format!("specs unavailable: {e}"))])
                .unwrap_or_default();
        }
    };
    checkable
        .filter_map(|e| specs.check_response(e).err())
        .collect()
}

/// Validates `body`, turning schema errors into one violation.
fn validate(
    exchange: &Exchange,
    op: &Operation<'_>,
    slot: &str,
    validator: &Result<Validator, String>,
    body: &Value,
) -> Result<(), Violation> {
    let validator = match validator {
        Ok(v) => v,
        Err(e) => {
            return Err(Violation::new(
                exchange,
                format!(
                    "the spec schema for {slot} of {} cannot be compiled: {e}",
                    op.label()
                ),
            ));
        }
    };
    let mut lines = Vec::new();
    for error in validator.iter_errors(body) {
        describe_error(&error, 0, &mut lines);
    }
    if lines.is_empty() {
        return Ok(());
    }
    const MAX_ERRORS: usize = 8;
    let total = lines.len();
    lines.truncate(MAX_ERRORS);
    let mut message = format!(
        "{} body does not match the spec schema ({}): {}",
        slot,
        op.label(),
        lines.join("; ")
    );
    if total > MAX_ERRORS {
        message.push_str(&format!("; and {} more", total - MAX_ERRORS));
    }
    Err(Violation::new(exchange, message))
}

/// Renders one schema error as `at /pointer: message` lines. For `anyOf`/`oneOf` failures the
/// most specific alternative's errors are shown instead of the whole instance.
fn describe_error(error: &ValidationError<'_>, depth: usize, out: &mut Vec<String>) {
    let context = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            Some(context)
        }
        _ => None,
    };
    let here = error.instance_path().as_str();
    if let Some(branches) = context.filter(|c| depth < 6 && c.iter().any(|b| !b.is_empty())) {
        // A branch failing only on `type` at this very value is uninteresting (the value is
        // simply of another alternative's type); prefer branches that failed deeper inside.
        let trivial = |b: &Vec<ValidationError<'static>>| {
            b.len() == 1
                && b.iter().all(|e| {
                    matches!(e.kind(), ValidationErrorKind::Type { .. })
                        && e.instance_path().as_str() == here
                })
        };
        let candidates: Vec<&Vec<ValidationError<'static>>> =
            branches.iter().filter(|b| !b.is_empty()).collect();
        if candidates.iter().all(|b| trivial(b)) {
            let expected: Vec<String> = candidates
                .iter()
                .flat_map(|b| b.iter())
                .map(|e| match e.kind() {
                    ValidationErrorKind::Type { kind } => format!("{kind:?}"),
                    _ => e.to_string(),
                })
                .collect();
            out.push(format!(
                "at {}: {} is not of any allowed type ({})",
                pointer(here),
                truncate(&error.instance().to_string()),
                expected.join(" | ")
            ));
            return;
        }
        let best = candidates.iter().filter(|b| !trivial(b)).max_by_key(|b| {
            let deepest = b
                .iter()
                .map(|e| e.instance_path().as_str().len())
                .max()
                .unwrap_or(0);
            (deepest, Reverse(b.len()))
        });
        if let Some(best) = best {
            for e in best.iter() {
                describe_error(e, depth + 1, out);
            }
            return;
        }
    }
    out.push(format!(
        "at {}: {}",
        pointer(here),
        truncate(&error.to_string())
    ));
}

fn pointer(p: &str) -> &str {
    if p.is_empty() { "(root)" } else { p }
}

fn truncate(s: &str) -> String {
    const MAX: usize = 240;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Resolves a local `$ref` chain (`#/components/responses/X`, …) at the OpenAPI level.
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut current = value;
    for _ in 0..16 {
        match current
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| lookup(doc, r))
        {
            Some(target) => current = target,
            None => break,
        }
    }
    current
}

/// Looks up a local reference (`#/a/b`) in `doc`.
fn lookup<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    doc.pointer(&percent_decode(fragment))
}

/// The unescaped tokens of a local reference (`#/components/schemas/X` → `[components,
/// schemas, X]`).
fn ref_tokens(reference: &str) -> Option<Vec<String>> {
    let fragment = reference.strip_prefix("#/")?;
    Some(
        percent_decode(fragment)
            .split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The parameter names present in a raw query string.
fn query_names(query: &str) -> Vec<String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n);
            percent_decode(&name.replace('+', " "))
        })
        .collect()
}

fn is_json_media(media: &str) -> bool {
    let essence = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json") || essence.ends_with("/json")
}

/// Whether a declared media type (`application/json`, `*/*`, `text/*`, possibly with
/// parameters) admits an actual `Content-Type`.
fn media_type_matches(declared: &str, actual: &str) -> bool {
    let essence = |m: &str| {
        m.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let (declared, actual) = (essence(declared), essence(actual));
    if declared == "*/*" || declared == actual {
        return true;
    }
    match (declared.split_once('/'), actual.split_once('/')) {
        (Some((dt, "*")), Some((at, _))) => dt == at,
        _ => false,
    }
}

/// The media type whose schema validates a body: `application/json`, else `*/*`, else the
/// first JSON-ish one.
fn pick_media_type(content: &Map<String, Value>) -> Option<(&str, &Value)> {
    content
        .get_key_value("application/json")
        .or_else(|| content.get_key_value("*/*"))
        .or_else(|| content.iter().find(|(k, _)| is_json_media(k)))
        .map(|(k, v)| (k.as_str(), v))
}

/// Translates an operation's schema and compiles it.
fn compile(doc: &Value, schema: &Value, mode: Mode) -> Result<Validator, String> {
    let translated = build_schema(doc, schema, mode, true);
    let options = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(false);
    match options.build(&translated) {
        Ok(v) => Ok(v),
        Err(first) => {
            // A `pattern` the regex engine rejects is the likeliest cause: retry without them.
            let relaxed = build_schema(doc, schema, mode, false);
            options.build(&relaxed).map_err(|_| first.to_string())
        }
    }
}

/// The JSON Schema 2020-12 document validating `schema`: its translation as the root, with
/// every (transitively) referenced component schema under a root `components` key.
fn build_schema(doc: &Value, schema: &Value, mode: Mode, keep_patterns: bool) -> Value {
    let tx = Translator {
        doc,
        mode,
        keep_patterns,
    };
    let root = tx.translate(schema, 0);
    let mut root = match root {
        Value::Object(m) => m,
        Value::Bool(false) => {
            let mut m = Map::new();
            m.insert("not".into(), Value::Object(Map::new()));
            m
        }
        _ => Map::new(),
    };
    let mut seen = BTreeSet::new();
    let mut pending = Vec::new();
    collect_refs(&Value::Object(root.clone()), &mut pending);
    let mut schemas = Map::new();
    while let Some(reference) = pending.pop() {
        if !seen.insert(reference.clone()) {
            continue;
        }
        let Some(tokens) = ref_tokens(&reference) else {
            continue;
        };
        let [_, _, name] = tokens.as_slice() else {
            continue;
        };
        let Some(raw) = lookup(doc, &reference) else {
            continue;
        };
        let translated = tx.translate(raw, 0);
        collect_refs(&translated, &mut pending);
        schemas.insert(name.clone(), translated);
    }
    if !schemas.is_empty() {
        let mut components = Map::new();
        components.insert("schemas".into(), Value::Object(schemas));
        root.insert("components".into(), Value::Object(components));
    }
    Value::Object(root)
}

/// Every `$ref` string in a translated schema (values of `enum`/`const`/`default` are data and
/// are not searched).
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    ("enum" | "const" | "default", _) => {}
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

const JSON_TYPES: [&str; 7] = [
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// OpenAPI 3.0 schema object → JSON Schema 2020-12.
struct Translator<'a> {
    doc: &'a Value,
    mode: Mode,
    keep_patterns: bool,
}

impl Translator<'_> {
    /// Depth limit for inlining references that are not `#/components/schemas/X`.
    const MAX_INLINE: usize = 16;

    fn translate(&self, schema: &Value, inline_depth: usize) -> Value {
        match schema {
            Value::Bool(b) => Value::Bool(*b),
            Value::Object(m) => self.translate_object(m, inline_depth),
            // Not a schema: accept anything rather than fail compilation.
            _ => Value::Object(Map::new()),
        }
    }

    fn translate_map(&self, value: &Value, inline_depth: usize) -> Option<Value> {
        let m = value.as_object()?;
        Some(Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), self.translate(v, inline_depth)))
                .collect(),
        ))
    }

    fn translate_list(&self, value: &Value, inline_depth: usize) -> Option<Vec<Value>> {
        let items = value.as_array()?;
        (!items.is_empty()).then(|| {
            items
                .iter()
                .map(|v| self.translate(v, inline_depth))
                .collect()
        })
    }

    fn translate_object(&self, m: &Map<String, Value>, depth: usize) -> Value {
        let mut out = Map::new();
        let mut extra_all_of: Vec<Value> = Vec::new();
        for (key, value) in m {
            match key.as_str() {
                "$ref" => {
                    if let Some(r) = value.as_str() {
                        self.translate_ref(r, depth, &mut out, &mut extra_all_of);
                    }
                }
                "type" => match value {
                    Value::String(t) => {
                        let lower = t.to_ascii_lowercase();
                        if JSON_TYPES.contains(&lower.as_str()) {
                            out.insert(key.clone(), Value::String(lower));
                        } else if !m.contains_key("$ref") {
                            // `"type": "GroupCounts"`: a component schema named as a type.
                            let reference = format!("#/components/schemas/{t}");
                            if lookup(self.doc, &reference).is_some() {
                                out.insert("$ref".into(), Value::String(reference));
                            }
                        }
                    }
                    Value::Array(ts) => {
                        let mut kept: Vec<Value> = Vec::new();
                        for t in ts.iter().filter_map(Value::as_str) {
                            let lower = Value::String(t.to_ascii_lowercase());
                            if JSON_TYPES.contains(&t.to_ascii_lowercase().as_str())
                                && !kept.contains(&lower)
                            {
                                kept.push(lower);
                            }
                        }
                        if !kept.is_empty() {
                            out.insert(key.clone(), Value::Array(kept));
                        }
                    }
                    _ => {}
                },
                "properties" | "patternProperties" | "$defs" | "definitions"
                | "dependentSchemas" => {
                    if let Some(v) = self.translate_map(value, depth) {
                        let key = if key == "definitions" {
                            "$defs"
                        } else {
                            key.as_str()
                        };
                        out.insert(key.into(), v);
                    }
                }
                "items" => match value {
                    Value::Array(_) => {
                        if let Some(list) = self.translate_list(value, depth) {
                            out.insert("prefixItems".into(), Value::Array(list));
                        }
                    }
                    Value::Object(_) | Value::Bool(_) => {
                        out.insert(key.clone(), self.translate(value, depth));
                    }
                    _ => {}
                },
                "additionalProperties"
                | "not"
                | "contains"
                | "propertyNames"
                | "if"
                | "then"
                | "else"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                    if value.is_object() || value.is_boolean() =>
                {
                    out.insert(key.clone(), self.translate(value, depth));
                }
                "allOf" | "anyOf" | "oneOf" => {
                    if let Some(list) = self.translate_list(value, depth) {
                        if key == "allOf" {
                            extra_all_of.extend(list);
                        } else if out.contains_key("anyOf") {
                            let mut wrapper = Map::new();
                            wrapper.insert("anyOf".into(), Value::Array(list));
                            extra_all_of.push(Value::Object(wrapper));
                        } else {
                            out.insert("anyOf".into(), Value::Array(list));
                        }
                    }
                }
                "required" => {
                    let mut names: Vec<Value> = Vec::new();
                    for name in value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                    {
                        let v = Value::String(name.to_owned());
                        if !names.contains(&v) && !self.skip_required(m, name) {
                            names.push(v);
                        }
                    }
                    if !names.is_empty() {
                        out.insert(key.clone(), Value::Array(names));
                    }
                }
                "enum" if value.as_array().is_some_and(|a| !a.is_empty()) => {
                    out.insert(key.clone(), value.clone());
                }
                "const" | "default" => {
                    out.insert(key.clone(), value.clone());
                }
                // The 3.0 boolean `exclusiveMinimum`/`exclusiveMaximum` is handled after the loop.
                "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum"
                    if value.is_number() =>
                {
                    out.insert(key.clone(), value.clone());
                }
                "multipleOf" if value.as_f64().is_some_and(|n| n > 0.0) => {
                    out.insert(key.clone(), value.clone());
                }
                "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties"
                | "maxProperties" => {
                    let n = value.as_u64().or_else(|| {
                        value
                            .as_f64()
                            .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                            .map(|f| f as u64)
                    });
                    if let Some(n) = n {
                        out.insert(key.clone(), Value::from(n));
                    }
                }
                "uniqueItems" if value.is_boolean() => {
                    out.insert(key.clone(), value.clone());
                }
                // The user-management spec writes the account id pattern with a stray trailing
                // newline (`[a-zA-Z0-9_|:-]{1,128}\n`), which no real id matches: trim it.
                "pattern" if self.keep_patterns => {
                    if let Some(p) = value.as_str() {
                        out.insert(key.clone(), Value::String(p.trim_end().to_owned()));
                    }
                }
                // `nullable` is handled below; `format` is deliberately not asserted; the rest
                // (`description`, `example`, `discriminator`, `xml`, `x-…`, …) are annotations.
                _ => {}
            }
        }
        for (exclusive, bound) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            if m.get(exclusive) == Some(&Value::Bool(true))
                && let Some(limit) = out.remove(bound)
            {
                out.insert(exclusive.into(), limit);
            }
        }
        match extra_all_of.len() {
            0 => {}
            _ => {
                out.insert("allOf".into(), Value::Array(extra_all_of));
            }
        }
        if m.get("nullable") == Some(&Value::Bool(true)) {
            return make_nullable(out);
        }
        Value::Object(out)
    }

    /// A `$ref` to `#/components/schemas/X` is kept (the component is copied next to the
    /// root); any other resolvable local ref is inlined; the rest are dropped.
    fn translate_ref(
        &self,
        reference: &str,
        depth: usize,
        out: &mut Map<String, Value>,
        extra_all_of: &mut Vec<Value>,
    ) {
        let Some(tokens) = ref_tokens(reference) else {
            return;
        };
        let Some(target) = lookup(self.doc, reference) else {
            return;
        };
        if tokens.len() == 3 && tokens[0] == "components" && tokens[1] == "schemas" {
            out.insert("$ref".into(), Value::String(reference.to_owned()));
        } else if depth < Self::MAX_INLINE {
            extra_all_of.push(self.translate(target, depth + 1));
        }
    }

    /// Whether a `required` property is exempt in this mode (`readOnly` ones in requests,
    /// `writeOnly` ones in responses).
    fn skip_required(&self, schema: &Map<String, Value>, name: &str) -> bool {
        let Some(property) = schema.get("properties").and_then(|p| p.get(name)) else {
            return false;
        };
        let property = resolve(self.doc, property);
        let flag = match self.mode {
            Mode::Request => "readOnly",
            Mode::Response => "writeOnly",
        };
        property.get(flag).and_then(Value::as_bool) == Some(true)
    }
}

/// Lets a translated schema also accept `null`.
fn make_nullable(mut schema: Map<String, Value>) -> Value {
    let composite = ["$ref", "allOf", "anyOf", "not", "const"]
        .iter()
        .any(|k| schema.contains_key(*k));
    if !composite && let Some(Value::String(t)) = schema.get("type").cloned() {
        schema.insert(
            "type".into(),
            Value::Array(vec![Value::String(t), "null".into()]),
        );
        if let Some(Value::Array(options)) = schema.get_mut("enum")
            && !options.contains(&Value::Null)
        {
            options.push(Value::Null);
        }
        return Value::Object(schema);
    }
    let mut null = Map::new();
    null.insert("type".into(), "null".into());
    let mut wrapper = Map::new();
    wrapper.insert(
        "anyOf".into(),
        Value::Array(vec![Value::Object(null), Value::Object(schema)]),
    );
    Value::Object(wrapper)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;

    fn specs() -> &'static Specs {
        Specs::load().unwrap()
    }

    fn exchange(
        family: Family,
        method: &str,
        path: &str,
        status: u16,
        body: Option<Value>,
    ) -> Exchange {
        Exchange {
            family,
            method: method.into(),
            spec_path: path.into(),
            query: String::new(),
            request_content_type: None,
            request_body: None,
            request_text: None,
            status,
            response_content_type: body.as_ref().map(|_| "application/json".into()),
            response_body: body,
            fault_injected: false,
        }
    }

    fn group_member_body() -> Value {
        json!({"self":"https://x","maxResults":2,"startAt":0,"total":5,"isLast":false,
               "values":[{"accountId":"a","accountType":"atlassian","active":true,"displayName":"Mia"}]})
    }

    #[test]
    fn jira_group_member_body_validates() {
        let ex = exchange(
            Family::Jira,
            "GET",
            "/rest/api/3/group/member",
            200,
            Some(group_member_body()),
        );
        specs().check_response(&ex).unwrap();
    }

    #[test]
    fn jira_wrong_type_names_the_pointer() {
        let mut body = group_member_body();
        body["total"] = json!("five");
        let ex = exchange(
            Family::Jira,
            "GET",
            "/rest/api/3/group/member",
            200,
            Some(body),
        );
        let v = specs().check_response(&ex).unwrap_err();
        let text = v.to_string();
        assert!(text.contains("/total"), "{text}");
        assert!(!text.contains('\n'));
        assert!(
            text.starts_with("[jira] GET /rest/api/3/group/member -> 200: "),
            "{text}"
        );
    }

    fn org_search_body() -> Value {
        // Reference §11.3, minus the `links.prev: null` the spec does not allow (LinkPageCursor
        // declares `prev` as a non-nullable string).
        json!({"data":[
          {"accountId":"5b10ac8d82e05b22cc7d4ef5","accountType":"atlassian","status":"active",
           "accountStatus":"active","membershipStatus":"active","addedToOrg":"2023-01-12T09:15:00Z",
           "name":"Alex Moreno","nickname":"alex","email":"alex@acme.com","emailVerified":true,
           "claimStatus":"managed","managementSource":"invited","mfaEnabled":true,
           "platformRoles":["atlassian/site-admin"],
           "productAccess":[{"key":"jira","id":"a1b2c3d4-1111-2222-3333-444455556666","lastActiveTimestamp":"2026-09-19T16:20:00Z"},
                            {"key":"confluence","id":"a1b2c3d4-1111-2222-3333-444455556666","lastActiveTimestamp":"2026-09-18T07:45:10Z"}],
           "groups":[{"id":"0f9e8d7c-1234-4567-89ab-cdef01234567","name":"jira-software-users-acme","description":null}],
           "counts":{"resources":3},"links":{"self":"NWIxMGFjOGQ4MmUwNWIyMmNjN2Q0ZWY1"},
           "deactivatedOn":null,"forDeletion":false},
          {"accountId":"712020:2c7e7a8e-5f1d-4c3b-9a2e-1d0c9b8a7f6e","accountType":"atlassian","status":"suspended",
           "accountStatus":"active","membershipStatus":"suspended","name":"Sam Lee","email":"sam@contractor.io",
           "emailVerified":true,"claimStatus":"unmanaged","deactivatedOn":null,"forDeletion":false}],
         "links":{"self":"Y3Vyc29yLTE","next":"Y3Vyc29yLTI"}})
    }

    const ORG_SEARCH: &str = "/v2/orgs/o-1/directories/-/users/search";

    #[test]
    fn org_user_search_body_validates() {
        let ex = exchange(
            Family::Org,
            "POST",
            ORG_SEARCH,
            200,
            Some(org_search_body()),
        );
        specs().check_response(&ex).unwrap();
        let op = specs()
            .find_operation(Family::Org, "POST", ORG_SEARCH)
            .unwrap();
        assert_eq!(
            op.template,
            "/v2/orgs/{orgId}/directories/{directoryId}/users/search"
        );
        assert_eq!(op.operation_id(), Some("searchDirectoryUsers"));
        assert_eq!(op.spec_file, "admin-organization.2026-08-21.json");
    }

    #[test]
    fn org_user_search_data_as_object_fails() {
        let mut body = org_search_body();
        body["data"] = json!({"accountId": "x"});
        let ex = exchange(Family::Org, "POST", ORG_SEARCH, 200, Some(body));
        let v = specs().check_response(&ex).unwrap_err();
        assert!(v.message.contains("/data"), "{v}");
    }

    #[test]
    fn reference_null_prev_cursor_is_flagged() {
        let mut body = org_search_body();
        body["links"]["prev"] = Value::Null;
        let ex = exchange(Family::Org, "POST", ORG_SEARCH, 200, Some(body));
        let v = specs().check_response(&ex).unwrap_err();
        assert!(v.message.contains("/links/prev"), "{v}");
    }

    #[test]
    fn undeclared_status_fails() {
        let ex = exchange(Family::Jira, "GET", "/rest/api/3/group/member", 418, None);
        let v = specs().check_response(&ex).unwrap_err();
        assert!(v.message.contains("status 418 is not declared"), "{v}");
        assert!(v.message.contains("200"), "{v}");
    }

    #[test]
    fn unknown_path_fails_clearly() {
        let ex = exchange(
            Family::Jira,
            "GET",
            "/rest/api/3/nothing/here/at/all",
            200,
            None,
        );
        let v = specs().check_response(&ex).unwrap_err();
        assert!(v.message.contains("unknown operation"), "{v}");
        assert!(v.message.contains("no path template"), "{v}");
        // Known path, undeclared method.
        let ex = exchange(Family::Jira, "PATCH", "/rest/api/3/group/member", 200, None);
        let v = specs().check_response(&ex).unwrap_err();
        assert!(v.message.contains("does not declare PATCH"), "{v}");
        assert!(v.message.contains("/rest/api/3/group/member [GET]"), "{v}");
    }

    #[test]
    fn has_route_matches_by_shape() {
        let s = specs();
        assert!(s.has_route(Family::Jira, "POST", "/rest/api/3/group/user"));
        assert!(!s.has_route(Family::Jira, "POST", "/rest/api/3/nothing"));
        assert!(s.has_route(
            Family::Org,
            "post",
            "/v2/orgs/{org}/directories/{dir}/users/search"
        ));
        // Only in the older Org document.
        assert!(s.has_route(Family::Org, "POST", "/v1/orgs/{o}/users/search"));
        // The trailing-apostrophe key of the older document counts as its fixed form.
        assert!(s.has_route(
            Family::Org,
            "POST",
            "/v2/orgs/{a}/directories/{b}/groups/{c}/role-assignments/revoke"
        ));
        assert!(!s.has_route(Family::Control, "GET", "/ground-truth"));
        assert!(!s.has_route(Family::Jira, "GET", "/rest/api/3/{*rest}"));
    }

    #[test]
    fn literal_beats_parameter() {
        let s = specs();
        let op = s
            .find_operation(Family::Jira, "GET", "/rest/api/3/user/groups")
            .unwrap();
        assert_eq!(
            (op.method.as_str(), op.template.as_str()),
            ("GET", "/rest/api/3/user/groups")
        );
        let op = s
            .find_operation(Family::Org, "GET", "/v2/orgs/o/directories/d/users/count")
            .unwrap();
        assert_eq!(
            op.template,
            "/v2/orgs/{orgId}/directories/{directoryId}/users/count"
        );
        let op = s
            .find_operation(Family::Org, "GET", "/v2/orgs/o/directories/d/users/u1")
            .unwrap();
        assert_eq!(
            op.template,
            "/v2/orgs/{orgId}/directories/{directoryId}/users/{userId}"
        );
        // A parameter never matches an empty segment or several segments.
        assert!(
            s.find_operation(Family::Org, "GET", "/v2/orgs//directories/d/users/u1")
                .is_none()
        );
        let op = s
            .find_operation(Family::Jira, "GET", "/rest/api/3/group/member")
            .unwrap();
        assert_eq!(op.template, "/rest/api/3/group/member");
    }

    #[test]
    fn every_family_resolves() {
        let s = specs();
        let cases = [
            (
                Family::UserManagement,
                "POST",
                "/users/abc/manage/lifecycle/disable",
            ),
            (Family::Jsm, "POST", "/rest/servicedeskapi/customer"),
            (Family::ConfluenceV1, "GET", "/wiki/rest/api/group"),
            (Family::ConfluenceV2, "GET", "/spaces/1/permissions"),
            (Family::Statuspage, "GET", "/organizations/o1/users"),
            (
                Family::Org,
                "POST",
                "/v1/orgs/o/directory/users/a/suspend-access",
            ),
            (
                Family::Org,
                "POST",
                "/v2/orgs/o/directories/d/groups/g/role-assignments/revoke",
            ),
        ];
        for (family, method, path) in cases {
            assert!(
                s.find_operation(family, method, path).is_some(),
                "{family:?} {method} {path}"
            );
        }
        let old = s
            .find_operation(Family::Org, "POST", "/v1/orgs/o/users/search")
            .unwrap();
        assert_eq!(old.spec_file, "admin-organization.2026-07-22.json");
        assert!(
            s.find_operation(Family::Control, "GET", "/ground-truth")
                .is_none()
        );
    }

    #[test]
    fn nullable_fields_accept_null() {
        // Translation: a nullable typed field and a nullable $ref.
        let doc = json!({"components":{"schemas":{"A":{"type":"object","properties":{"n":{"type":"integer"}}}}}});
        let schema = json!({"type":"object","properties":{
            "s":{"type":"string","nullable":true,"enum":["x"]},
            "r":{"allOf":[{"$ref":"#/components/schemas/A"}],"nullable":true},
            "m":{"type":"number","minimum":0,"exclusiveMinimum":true}}});
        let v = compile(&doc, &schema, Mode::Response).unwrap();
        assert!(v.is_valid(&json!({"s":null,"r":null,"m":1})));
        assert!(v.is_valid(&json!({"s":"x","r":{"n":1}})));
        assert!(!v.is_valid(&json!({"s":"y"})));
        assert!(!v.is_valid(&json!({"r":{"n":"one"}})));
        assert!(!v.is_valid(&json!({"m":0})));
        // In the real Org spec: `groups[].description` is a nullable string, `managementSource`
        // a nullable enum, `nickname` a plain (non-nullable) string.
        let check = |user: Value| {
            let body = json!({"data": [user], "links": {}});
            specs().check_response(&exchange(Family::Org, "POST", ORG_SEARCH, 200, Some(body)))
        };
        check(json!({"accountId":"a","groups":[{"id":"g","description":null}],"managementSource":null}))
            .unwrap();
        let v = check(json!({"accountId":"a","groups":[{"id":"g","description":5}]})).unwrap_err();
        assert!(v.message.contains("/data/0/groups/0/description"), "{v}");
        assert!(check(json!({"accountId":"a","managementSource":"bogus"})).is_err());
        let v = check(json!({"accountId":"a","nickname":null})).unwrap_err();
        assert!(v.message.contains("/data/0/nickname"), "{v}");
    }

    #[test]
    fn requests_are_checked() {
        let s = specs();
        let mut ex = exchange(Family::Jira, "GET", "/rest/api/3/group/member", 200, None);
        // groupname/groupId are optional there; POST /rest/api/3/group/user needs groupname or
        // groupId (both optional) and a body with accountId.
        s.check_request(&ex).unwrap();
        ex = exchange(Family::Jira, "POST", "/rest/api/3/group/user", 201, None);
        ex.query = "groupId=g1".into();
        ex.request_content_type = Some("application/json".into());
        ex.request_body = Some(json!({"accountId": "5b10ac8d82e05b22cc7d4ef5"}));
        s.check_request(&ex).unwrap();
        ex.request_body = Some(json!({"accountId": 5}));
        let v = s.check_request(&ex).unwrap_err();
        assert!(v.message.contains("/accountId"), "{v}");
        // A required query parameter: DELETE /rest/api/3/group/user needs accountId.
        let mut del = exchange(Family::Jira, "DELETE", "/rest/api/3/group/user", 200, None);
        del.query = "groupId=g1".into();
        let v = s.check_request(&del).unwrap_err();
        assert!(v.message.contains("accountId"), "{v}");
        del.query = "groupId=g1&accountId=abc".into();
        s.check_request(&del).unwrap();
    }

    #[test]
    fn check_all_skips_faults_and_control() {
        let good = exchange(
            Family::Jira,
            "GET",
            "/rest/api/3/group/member",
            200,
            Some(group_member_body()),
        );
        let mut faulted = exchange(Family::Jira, "GET", "/rest/api/3/group/member", 503, None);
        faulted.fault_injected = true;
        let control = exchange(
            Family::Control,
            "GET",
            "/ground-truth",
            200,
            Some(json!({})),
        );
        let bad = exchange(Family::Jira, "GET", "/rest/api/3/group/member", 418, None);
        let violations = check_all(&[good, faulted, control, bad]);
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].status, 418);
    }

    #[test]
    fn no_content_and_content_type() {
        let s = specs();
        let ex = exchange(
            Family::Org,
            "DELETE",
            "/v2/orgs/o/directories/d/groups/g/memberships/a",
            204,
            None,
        );
        s.check_response(&ex).unwrap();
        let ex = exchange(
            Family::Org,
            "DELETE",
            "/v2/orgs/o/directories/d/groups/g/memberships/a",
            204,
            Some(json!({"x": 1})),
        );
        assert!(s.check_response(&ex).is_err());
        let mut ex = exchange(
            Family::Jira,
            "GET",
            "/rest/api/3/group/member",
            200,
            Some(group_member_body()),
        );
        ex.response_content_type = Some("application/json;charset=UTF-8".into());
        s.check_response(&ex).unwrap();
        ex.response_content_type = Some("text/html".into());
        assert!(s.check_response(&ex).is_err());
    }

    /// Compiles every response and request schema of every spec; prints those that cannot be
    /// compiled. Slow (thousands of schemas): run with `--ignored`.
    #[test]
    #[ignore]
    fn compile_every_schema() {
        let s = specs();
        s.preload().unwrap();
        let mut failures = Vec::new();
        let mut count = 0;
        for (index, file) in FILES.iter().enumerate() {
            let spec = s.doc(index).unwrap();
            for route in &spec.routes {
                let item = spec.path_item(route).unwrap();
                for method in METHODS {
                    let Some(op) = item.get(method) else { continue };
                    let mut slots: Vec<(String, &Value, Mode)> = Vec::new();
                    for (status, resp) in op
                        .get("responses")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        let resp = resolve(&spec.doc, resp);
                        if let Some(c) = resp.get("content").and_then(Value::as_object)
                            && let Some((m, mo)) = pick_media_type(c)
                            && let Some(schema) = mo.get("schema")
                        {
                            slots.push((format!("{status} {m}"), schema, Mode::Response));
                        }
                    }
                    if let Some(rb) = op.get("requestBody") {
                        let rb = resolve(&spec.doc, rb);
                        if let Some(c) = rb.get("content").and_then(Value::as_object)
                            && let Some((m, mo)) = pick_media_type(c)
                            && let Some(schema) = mo.get("schema")
                        {
                            slots.push((format!("request {m}"), schema, Mode::Request));
                        }
                    }
                    for (slot, schema, mode) in slots {
                        count += 1;
                        let strict = jsonschema::options()
                            .with_draft(Draft::Draft202012)
                            .should_validate_formats(false)
                            .build(&build_schema(&spec.doc, schema, mode, true));
                        if let Ok(v) = &strict {
                            for probe in [json!({}), json!([{}]), json!(null), json!("x")] {
                                for e in v.iter_errors(&probe) {
                                    if matches!(e.kind(), ValidationErrorKind::Referencing(_)) {
                                        failures.push(format!(
                                            "{file} {} {} {slot}: unresolved reference: {e}",
                                            method.to_uppercase(),
                                            route.template
                                        ));
                                    }
                                }
                            }
                        }
                        if let Err(e) = strict {
                            let relaxed = compile(&spec.doc, schema, mode).is_ok();
                            failures.push(format!(
                                "{file} {} {} {slot}: {e} (without patterns: {})",
                                method.to_uppercase(),
                                route.template,
                                if relaxed { "ok" } else { "still failing" }
                            ));
                        }
                    }
                }
            }
        }
        println!("compiled {count} schemas, {} failures", failures.len());
        for f in &failures {
            println!("{f}");
        }
        assert!(
            failures
                .iter()
                .all(|f| f.ends_with("(without patterns: ok)"))
        );
    }
}
