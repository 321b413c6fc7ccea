//! The database schema and its versions.

/// The schema, one step per version; a database is brought up to the last step on open.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: rollups, route rollups, state, checkpoints, reports, insights, alerts.
    "CREATE TABLE rollup (
         t_ms INTEGER NOT NULL,
         width_ms INTEGER NOT NULL,
         requests INTEGER NOT NULL,
         body BLOB NOT NULL,
         PRIMARY KEY (t_ms, width_ms)
     ) WITHOUT ROWID;
     CREATE TABLE route_rollup (
         t_ms INTEGER NOT NULL,
         width_ms INTEGER NOT NULL,
         route TEXT NOT NULL,
         requests INTEGER NOT NULL,
         body BLOB NOT NULL,
         PRIMARY KEY (t_ms, width_ms, route)
     ) WITHOUT ROWID;
     CREATE TABLE state (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         aggregate TEXT NOT NULL
     );
     CREATE TABLE checkpoint (
         path TEXT PRIMARY KEY,
         positions TEXT NOT NULL
     );
     CREATE TABLE report (
         t_ms INTEGER PRIMARY KEY,
         requests INTEGER NOT NULL,
         text TEXT NOT NULL,
         json TEXT NOT NULL
     );
     CREATE TABLE insight (
         id INTEGER PRIMARY KEY,
         kind TEXT NOT NULL,
         subject TEXT NOT NULL,
         severity TEXT NOT NULL,
         message TEXT NOT NULL,
         first_ms INTEGER NOT NULL,
         last_ms INTEGER NOT NULL
     );
     CREATE INDEX insight_open ON insight (kind, subject, last_ms);
     CREATE INDEX insight_time ON insight (last_ms);
     CREATE TABLE alert (
         id INTEGER PRIMARY KEY,
         t_ms INTEGER NOT NULL,
         rule TEXT NOT NULL,
         state TEXT NOT NULL,
         channel TEXT NOT NULL,
         delivered INTEGER NOT NULL,
         message TEXT NOT NULL
     );",
    // 2: anomaly detection's state, saved with the aggregate.
    "ALTER TABLE state ADD COLUMN detection TEXT;",
    // 3: distinct clients per hour.
    "CREATE TABLE visitors (
         t_ms INTEGER PRIMARY KEY,
         body BLOB NOT NULL
     );",
    // 4: a count of commits (to notice lost ones) and rows that could not be read, kept aside.
    "CREATE TABLE meta (
         id INTEGER PRIMARY KEY CHECK (id = 1),
         commits INTEGER NOT NULL,
         newest_ms INTEGER NOT NULL
     );
     INSERT INTO meta (id, commits, newest_ms) VALUES (1, 0, 0);
     CREATE TABLE quarantine (
         id INTEGER PRIMARY KEY,
         tbl TEXT NOT NULL,
         key TEXT NOT NULL,
         body BLOB NOT NULL,
         error TEXT NOT NULL
     );",
    // 5: binary rows carry a version byte; the rows written before are version 1.
    "UPDATE rollup SET body = CAST(X'01' || body AS BLOB);
     UPDATE route_rollup SET body = CAST(X'01' || body AS BLOB);
     UPDATE visitors SET body = CAST(X'01' || body AS BLOB);",
    // 6: the panels of each hour (agents, referring sites, not found, static files).
    "CREATE TABLE panel_rollup (
         t_ms INTEGER PRIMARY KEY,
         body BLOB NOT NULL
     );",
];
