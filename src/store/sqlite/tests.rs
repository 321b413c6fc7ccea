//! Unit tests of the SQLite store.

use super::schema::MIGRATIONS;
use super::*;

/// Regression: a run on a log without response times saved its empty sketches with
/// `"min": null` and the next start failed ("invalid type: null, expected f64").
#[test]
fn a_state_saved_with_null_sketch_bounds_is_read() {
    let mut agg = Aggregate::default();
    let req = crate::request::Request {
        ts_ms: 1_431_857_103_000,
        path: "/a".into(),
        status: 200,
        ..Default::default()
    };
    agg.count(&req);
    let mut v = serde_json::to_value(&agg).unwrap();
    // The old form: every empty sketch written out with null bounds.
    fn old_form(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(serde_json::Value::Null) = o.get("sketch") {
                    let empty = crate::aggregate::latency::empty_sketch_as_written_before();
                    o.insert("sketch".into(), empty);
                }
                o.values_mut().for_each(old_form);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(old_form),
            _ => {}
        }
    }
    old_form(&mut v);
    let text = v.to_string();
    assert!(text.contains("\"min\":null"));
    assert!(serde_json::from_str::<Aggregate>(&text).is_err());
    let back: Aggregate = super::format::legacy_state(&text).expect("repaired");
    assert_eq!(back.totals.requests, 1);
}

#[test]
fn an_older_schema_is_migrated_and_a_newer_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(MIGRATIONS[0]).unwrap();
        c.pragma_update(None, "user_version", 1).unwrap();
        c.execute(
            "INSERT INTO state (id, aggregate) VALUES (1, ?1)",
            [serde_json::to_string(&Aggregate::default()).unwrap()],
        )
        .unwrap();
    }
    let mut s = SqliteStore::open(&path).unwrap();
    let saved = s.load().unwrap().expect("the old state is kept");
    assert!(saved.detection.is_none());
    let v: i64 = s
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, MIGRATIONS.len() as i64);
    drop(s);
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let err = SqliteStore::open(&path).err().expect("refused");
    assert!(
        matches!(err, StoreError::TooNew { found: 99, .. }),
        "{err:?}"
    );
}
