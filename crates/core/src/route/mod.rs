//! Route normalization: `/users/123?x=1` and `/users/456` are the same route, `/users/{id}`.

pub mod options;

pub use options::{KeepQuery, RouteMode, RouteOptions, Rule, StaticFiles};

/// Longest route kept; longer paths are cut so one request cannot make a huge key.
pub const MAX_ROUTE_LEN: usize = 200;

/// Placeholder that replaces identifier segments.
pub const ID: &str = "{id}";

fn is_uuid(b: &[u8]) -> bool {
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// True for a path segment that clearly names one object rather than a kind of thing:
/// numbers, UUIDs, hex hashes, numbers joined by `-` or `_` (dates), and long random tokens
/// that mix letters and digits. A slug with words (`logstash-puppetconf-2012`) is not one.
pub fn is_identifier(seg: &[u8]) -> bool {
    let (mut digits, mut hex_letters, mut letters, mut separators) = (0, 0, 0, 0);
    for &c in seg {
        match c {
            b'0'..=b'9' => digits += 1,
            b'a'..=b'f' | b'A'..=b'F' => hex_letters += 1,
            b'g'..=b'z' | b'G'..=b'Z' => letters += 1,
            b'-' | b'_' => separators += 1,
            b'=' => {}
            _ => return false,
        }
    }
    let len = seg.len();
    if digits == 0 {
        return false;
    }
    if digits == len || is_uuid(seg) {
        return true;
    }
    if separators > 0 {
        // Numbers joined by separators (2024-01-05, 123_456); anything with a word is a slug.
        return seg
            .split(|&c| c == b'-' || c == b'_')
            .all(|part| !part.is_empty() && part.iter().all(u8::is_ascii_digit));
    }
    if len >= 8 && digits + hex_letters == len {
        return true;
    }
    len >= 16 && digits >= 3 && letters + hex_letters > 0
}

/// Writes the route of `path` into `out` (cleared first): query and fragment dropped,
/// identifier segments replaced by `{id}`, length capped at [`MAX_ROUTE_LEN`].
pub fn normalize_into(path: &str, out: &mut String) {
    normalize_path_into(&path[..query_start(path)], out);
}

/// Where the query or fragment of `path` starts (its length when it has neither).
pub(crate) fn query_start(path: &str) -> usize {
    // Paths are short: a search in a register beats a vector search's setup.
    crate::cursor::find_either(path.as_bytes(), b'?', b'#').unwrap_or(path.len())
}

/// `path` without its query string or fragment.
pub fn without_query(path: &str) -> &str {
    &path[..query_start(path)]
}

/// [`normalize_into`] of a path without query or fragment.
pub(crate) fn normalize_path_into(path: &str, out: &mut String) {
    out.clear();
    if path.is_empty() {
        out.push('/');
        return;
    }
    // Runs of segments that stay as they are are copied at once.
    let mut copied = 0;
    let mut from = 0;
    loop {
        let to = crate::cursor::find_either(&path.as_bytes()[from..], b'/', b'/')
            .map_or(path.len(), |i| from + i);
        if let Some(ext) = identifier_extension(&path[from..to]) {
            out.push_str(&path[copied..from]);
            out.push_str(ID);
            out.push_str(ext);
            copied = to;
        }
        if out.len() + (to - copied) > MAX_ROUTE_LEN {
            out.push_str(&path[copied..to]);
            let mut cut = MAX_ROUTE_LEN;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            out.push('…');
            return;
        }
        if to == path.len() {
            out.push_str(&path[copied..]);
            return;
        }
        from = to + 1;
    }
}

/// When `seg` names one object, what to keep after `{id}`: its extension with the dot, or
/// nothing.
fn identifier_extension(seg: &str) -> Option<&str> {
    // No early exit: the segment is tested in a few vector steps.
    if !seg.bytes().fold(false, |d, b| d | b.is_ascii_digit()) {
        return None;
    }
    if is_identifier(seg.as_bytes()) {
        return Some("");
    }
    match seg.rsplit_once('.') {
        Some((stem, ext)) if ext.len() <= 5 && is_identifier(stem.as_bytes()) => {
            Some(&seg[stem.len()..])
        }
        _ => None,
    }
}

/// The route of `path` (see [`normalize_into`]): `path` itself, cut at its query, when
/// nothing in it changes, otherwise the route written into `scratch`.
pub fn route_of<'a>(path: &'a str, scratch: &'a mut String) -> &'a str {
    let path = &path[..query_start(path)];
    // No early exit: the whole path is tested in a few vector steps.
    let digits = path.bytes().fold(false, |d, b| d | b.is_ascii_digit());
    if path.is_empty() || path.len() > MAX_ROUTE_LEN || digits {
        normalize_path_into(path, scratch);
        return scratch;
    }
    path
}

/// The route of `path` (see [`normalize_into`]).
pub fn normalize(path: &str) -> String {
    let mut s = String::new();
    normalize_into(path, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_placeholders() {
        assert_eq!(normalize("/users/123"), "/users/{id}");
        assert_eq!(normalize("/v/12345."), "/v/{id}.");
        assert_eq!(normalize("/a/b/c/123.json/d?x=1"), "/a/b/c/{id}.json/d");
        assert_eq!(
            normalize("/users/123/posts/9?page=2"),
            "/users/{id}/posts/{id}"
        );
        assert_eq!(
            normalize("/o/550e8400-e29b-41d4-a716-446655440000/x"),
            "/o/{id}/x"
        );
        assert_eq!(normalize("/blob/deadbeef12"), "/blob/{id}");
        assert_eq!(normalize("/t/abcDEF123ghiJKL456mnoP"), "/t/{id}");
        assert_eq!(normalize("/api/v2/items"), "/api/v2/items");
        assert_eq!(normalize("/static/app.css#x"), "/static/app.css");
        assert_eq!(
            normalize("/cafe"),
            "/cafe",
            "a word of hex letters is not an id"
        );
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("?a=1"), "/");
    }

    #[test]
    fn route_of_equals_normalize() {
        let mut scratch = String::new();
        for p in [
            "/",
            "",
            "?a=1",
            "/api/users",
            "/api/users?id=5",
            "/api/users/5?x",
            "/static/app.css#frag9",
            "/blob/deadbeef12",
            "/a//b/",
            "/caf\u{e9}/x",
            &format!("/{}", "a".repeat(300)),
            &format!("/{}", "a".repeat(199)),
        ] {
            assert_eq!(route_of(p, &mut scratch), normalize(p), "{p:?}");
        }
    }

    #[test]
    fn long_paths_are_capped_on_a_char_boundary() {
        let long = format!("/{}", "é".repeat(500));
        let r = normalize(&long);
        assert!(r.len() <= MAX_ROUTE_LEN + '…'.len_utf8());
        assert!(r.ends_with('…'));
        assert_eq!(normalize(&"/123".repeat(100)), "/{id}".repeat(40) + "…");
        assert_eq!(normalize(&format!("/{}", "1".repeat(300))), "/{id}");
        let mixed = format!("/{}/7/{}", "a".repeat(150), "b".repeat(100));
        assert_eq!(
            normalize(&mixed),
            mixed[..MAX_ROUTE_LEN].replace("/7/", "/{id}/")[..MAX_ROUTE_LEN].to_owned() + "…"
        );
    }
}
