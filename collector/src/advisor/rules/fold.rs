//! Causes before symptoms: after every rule has run (and the confidence
//! floors have been applied), a symptom whose cause is already advised in
//! the same pass is folded into that cause's recommendation as evidence
//! instead of being raised on its own. Pure.
//!
//! Causes are the findings about specific statements and tables: `index`
//! (a missing index) and `big_scans` (counts and deep offsets over large
//! tables). A cause is about the statements and tables its evidence charts
//! (`pg_statement_*{database, queryid}` and `pg_table_rows{database,
//! schema, table}` series).
//!
//! Symptoms, and the share of each a cause must be *measured* to explain
//! (at least [`FOLD_MIN_SHARE`]) before it is folded:
//!
//! | symptom (rule, key) | share explained by the cause |
//! | --- | --- |
//! | read pressure (`database`, `read_replica/…`) | rows its tables' sequential scans read over rows PostgreSQL read (`pg_table_seq_tup_read` / `pg_database_tup_returned + tup_fetched`), or its statements' buffer accesses over the database's (`pg_statement_shared_blks_*` / `pg_database_blks_*`), the larger |
//! | cache pressure (`database`, `buffer_cache/…`) | its statements' blocks read from disk over the database's (`pg_statement_shared_blks_read` / `pg_database_blks_read`) |
//! | CPU (`app`, `worker_split`) | its statements' execution time per second (CPU-seconds at most) over the host's busy CPUs, same host only |
//! | route latency (`app`, `checkout_slo:…`, `regression:…`) | the smaller of: the route's share of time in SQL (spans) and the statements' share of PostgreSQL's execution time, bulk work excluded |
//!
//! When no cause is measured to explain a symptom, the symptom stands, with
//! a note naming the causes advised on the same database so the cheaper fix
//! is tried first. Spans carry no statement identity, so route latency is
//! folded on the two shares above, and the cause says so.

use std::collections::BTreeMap;

use headroom_proto::signals::host::HOST_CPU_SECONDS_TOTAL;
use headroom_proto::signals::http::HTTP_ROUTE_LATENCY_MS;
use headroom_proto::signals::otlp::OTLP_ROUTE_DB_TIME_MS_TOTAL;
use headroom_proto::signals::postgres::{
    PG_DATABASE_BLKS_HIT, PG_DATABASE_BLKS_READ, PG_DATABASE_TUP_RETURNED, PG_STATEMENT_EXEC_MS,
    PG_STATEMENT_SHARED_BLKS_HIT, PG_STATEMENT_SHARED_BLKS_READ, PG_TABLE_ROWS,
    PG_TABLE_SEQ_TUP_READ, STATEMENT,
};

use super::{app, big_scans, database};
use crate::advisor::needs::{Need, recent};
use crate::advisor::statements;
use crate::advisor::{Context, Finding, RecKind, SeriesRef};

/// A cause must be measured to explain at least this share of a symptom.
/// The series the fold reads to weigh a symptom against its cause.
pub const NEEDS: &[Need] = &[
    recent(&PG_TABLE_SEQ_TUP_READ),
    recent(&PG_DATABASE_BLKS_HIT),
    recent(&PG_DATABASE_BLKS_READ),
    recent(&PG_DATABASE_TUP_RETURNED),
    recent(&PG_STATEMENT_SHARED_BLKS_HIT),
    recent(&PG_STATEMENT_SHARED_BLKS_READ),
    recent(&PG_STATEMENT_EXEC_MS),
    recent(&OTLP_ROUTE_DB_TIME_MS_TOTAL),
    recent(&HTTP_ROUTE_LATENCY_MS),
];

pub const FOLD_MIN_SHARE: f64 = 0.5;

/// What a cause finding is about.
#[derive(Debug, Default)]
struct Subjects {
    /// `(database, queryid)`.
    statements: Vec<(String, String)>,
    /// `(database, schema, table)`.
    tables: Vec<(String, String, String)>,
}

fn is_cause(f: &Finding) -> bool {
    f.kind == RecKind::Index || f.key.starts_with(big_scans::KEY_PREFIX)
}

fn subjects(f: &Finding) -> Subjects {
    let mut out = Subjects::default();
    let get = |s: &SeriesRef, k: &str| s.labels.get(k).cloned().unwrap_or_default();
    for s in &f.evidence.series {
        if STATEMENT.iter().any(|statement| statement.name == s.name) {
            let key = (get(s, "database"), get(s, "queryid"));
            if !out.statements.contains(&key) {
                out.statements.push(key);
            }
        } else if s.name == PG_TABLE_ROWS.name {
            let key = (get(s, "database"), get(s, "schema"), get(s, "table"));
            if !out.tables.contains(&key) {
                out.tables.push(key);
            }
        }
    }
    out
}

/// A symptom, as recognised by its rule's key.
#[derive(Debug, Clone, PartialEq)]
enum Symptom {
    Reads { agent: String },
    BufferCache { agent: String, database: String },
    Cpu { agent: String },
    RouteLatency { route: String },
}

fn symptom(f: &Finding) -> Option<Symptom> {
    if let Some(agent) = f.key.strip_prefix(database::READ_REPLICA_KEY) {
        return Some(Symptom::Reads {
            agent: agent.to_owned(),
        });
    }
    if let Some(rest) = f.key.strip_prefix(database::BUFFER_CACHE_KEY) {
        let (agent, db) = rest.split_once('/')?;
        return Some(Symptom::BufferCache {
            agent: agent.to_owned(),
            database: db.to_owned(),
        });
    }
    if f.key == app::WORKER_SPLIT_KEY {
        let agent = f
            .evidence
            .series
            .iter()
            .find(|s| s.name == HOST_CPU_SECONDS_TOTAL.name)?
            .labels
            .get("agent")?;
        return Some(Symptom::Cpu {
            agent: agent.clone(),
        });
    }
    [app::CHECKOUT_SLO_KEY, app::REGRESSION_KEY]
        .iter()
        .find_map(|p| f.key.strip_prefix(p))
        .map(|route| Symptom::RouteLatency {
            route: route.to_owned(),
        })
}

/// A measured share and the sentence that states it.
type Share = (f64, String);

/// Sum of `sum_since` (delta gauges) or `increase_since` (counters) over
/// the series named `name` matching `labels`.
fn total(ctx: &Context, name: &str, labels: &[(&str, &str)], counter: bool) -> f64 {
    let since = ctx.since();
    ctx.snapshot
        .matching(name, labels)
        .map(|s| {
            if counter {
                s.increase_since(since)
            } else {
                s.sum_since(since)
            }
        })
        .sum()
}

fn statement_total(ctx: &Context, c: &Subjects, name: &str, agent: Option<&str>) -> f64 {
    c.statements
        .iter()
        .map(|(db, q)| {
            let mut labels = vec![("database", db.as_str()), ("queryid", q.as_str())];
            labels.extend(agent.map(|a| ("agent", a)));
            total(ctx, name, &labels, false)
        })
        .sum()
}

fn share_of(ctx: &Context, c: &Subjects, symptom: &Symptom) -> Option<Share> {
    let pct = |x: f64| x * 100.0;
    match symptom {
        Symptom::Reads { agent } => {
            let (reads, _) = database::rows_read(ctx, agent);
            let by_rows = (reads > 0.0)
                .then(|| {
                    let rows: f64 = c
                        .tables
                        .iter()
                        .map(|(db, schema, table)| {
                            let labels = [
                                ("agent", agent.as_str()),
                                ("database", db.as_str()),
                                ("schema", schema.as_str()),
                                ("table", table.as_str()),
                            ];
                            total(ctx, PG_TABLE_SEQ_TUP_READ.name, &labels, true)
                        })
                        .sum();
                    (rows > 0.0).then(|| {
                        let names: Vec<String> =
                            c.tables.iter().map(|(_, s, t)| format!("{s}.{t}")).collect();
                        (
                            (rows / reads).min(1.0),
                            format!(
                                "sequential scans of {} read {rows:.0} rows against {reads:.0} for the whole database ({:.0}%)",
                                names.join(", "),
                                pct((rows / reads).min(1.0))
                            ),
                        )
                    })
                })
                .flatten();
            let blocks = total(ctx, PG_DATABASE_BLKS_HIT.name, &[("agent", agent)], true)
                + total(ctx, PG_DATABASE_BLKS_READ.name, &[("agent", agent)], true);
            let mine = statement_total(ctx, c, PG_STATEMENT_SHARED_BLKS_HIT.name, Some(agent))
                + statement_total(ctx, c, PG_STATEMENT_SHARED_BLKS_READ.name, Some(agent));
            // Statement deltas and database counters are read at slightly
            // different moments: a share can exceed 1 by a little.
            let by_blocks = (blocks > 0.0 && mine > 0.0).then(|| {
                let share = (mine / blocks).min(1.0);
                (
                    share,
                    format!(
                        "its statements made {mine:.0} buffer accesses against {blocks:.0} for the whole database ({:.0}%)",
                        pct(share)
                    ),
                )
            });
            // On a tie the rows, the more direct measure, are named.
            [by_blocks, by_rows]
                .into_iter()
                .flatten()
                .max_by(|a, b| a.0.total_cmp(&b.0))
        }
        Symptom::BufferCache { agent, database } => {
            let labels = [("agent", agent.as_str()), ("database", database.as_str())];
            let read = total(ctx, PG_DATABASE_BLKS_READ.name, &labels, true);
            let mine = statement_total(ctx, c, PG_STATEMENT_SHARED_BLKS_READ.name, Some(agent));
            (read > 0.0 && mine > 0.0).then(|| {
                let share = (mine / read).min(1.0);
                (
                    share,
                    format!(
                        "its statements read {mine:.0} blocks from disk against {read:.0} for the whole database ({:.0}%)",
                        pct(share)
                    ),
                )
            })
        }
        Symptom::Cpu { agent } => {
            let busy = ctx
                .headroom
                .iter()
                .find(|h| h.resource == format!("host cpu ({agent})"))?
                .current;
            // Same host only: the statements' agent is the host's, or the
            // database's agent measures no host and this is the only one.
            let hosts = ctx
                .headroom
                .iter()
                .filter(|h| h.resource.starts_with("host cpu ("))
                .count();
            let same = statement_total(ctx, c, PG_STATEMENT_EXEC_MS.name, Some(agent));
            let exec_ms = if same > 0.0 || hosts > 1 {
                same
            } else {
                statement_total(ctx, c, PG_STATEMENT_EXEC_MS.name, None)
            };
            let cores = exec_ms / ctx.config.recent_ms().max(1) as f64;
            (busy > 0.0 && cores > 0.0).then(|| {
                (
                    (cores / busy).min(1.0),
                    format!(
                        "its statements ran for {cores:.2} CPU-seconds a second at most (their execution time) while the host's busy CPUs were {busy:.2} ({:.0}%)",
                        pct((cores / busy).min(1.0))
                    ),
                )
            })
        }
        Symptom::RouteLatency { route } => {
            let db_ms = total(
                ctx,
                OTLP_ROUTE_DB_TIME_MS_TOTAL.name,
                &[("route", route.as_str())],
                true,
            );
            let request_ms = total(
                ctx,
                HTTP_ROUTE_LATENCY_MS.sum(),
                &[("route", route.as_str()), ("origin", "otlp")],
                false,
            );
            let workload = statements::workload(ctx.snapshot, ctx.since(), &[]);
            let mine: f64 = c
                .statements
                .iter()
                .filter(|(db, q)| !workload.is_excluded(db, q))
                .map(|(db, q)| {
                    total(
                        ctx,
                        PG_STATEMENT_EXEC_MS.name,
                        &[("database", db.as_str()), ("queryid", q.as_str())],
                        false,
                    )
                })
                .sum();
            if request_ms <= 0.0 || db_ms <= 0.0 || workload.exec_ms <= 0.0 || mine <= 0.0 {
                return None;
            }
            let in_sql = (db_ms / request_ms).min(1.0);
            let of_db = (mine / workload.exec_ms).min(1.0);
            Some((
                in_sql.min(of_db),
                format!(
                    "{route} spends {:.0}% of its time in SQL statements (from its spans) and the advised statements take {:.0}% of PostgreSQL's execution time (bulk work excluded); the spans do not say which statements a route runs, so confirm by watching this route once the advice is applied",
                    pct(in_sql),
                    pct(of_db)
                ),
            ))
        }
    }
}

/// Databases the symptom is about (for the "advised on the same
/// database" note).
fn databases(ctx: &Context, symptom: &Symptom) -> Vec<String> {
    let agent = match symptom {
        Symptom::BufferCache { database, .. } => return vec![database.clone()],
        Symptom::Reads { agent } | Symptom::Cpu { agent } => agent.as_str(),
        Symptom::RouteLatency { .. } => "",
    };
    let mut out: Vec<String> = ctx
        .snapshot
        .named(PG_DATABASE_TUP_RETURNED.name)
        .filter(|s| agent.is_empty() || s.label("agent") == agent)
        .map(|s| s.label("database").to_owned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Folds each symptom into the advised cause measured to explain it.
pub fn fold(ctx: &Context, findings: Vec<Finding>) -> Vec<Finding> {
    let causes: Vec<(usize, Subjects, String)> = findings
        .iter()
        .enumerate()
        .filter(|(_, f)| is_cause(f))
        .map(|(i, f)| (i, subjects(f), f.title.clone()))
        .collect();
    if causes.is_empty() {
        return findings;
    }
    let mut folded: BTreeMap<usize, Vec<(Finding, Share)>> = BTreeMap::new();
    let mut kept: Vec<Option<Finding>> = Vec::with_capacity(findings.len());
    for mut f in findings {
        let Some(symptom) = symptom(&f) else {
            kept.push(Some(f));
            continue;
        };
        let best = causes
            .iter()
            .filter_map(|(i, c, _)| share_of(ctx, c, &symptom).map(|s| (*i, s)))
            .max_by(|a, b| a.1.0.total_cmp(&b.1.0));
        match best {
            Some((i, share)) if share.0 >= FOLD_MIN_SHARE => {
                folded.entry(i).or_default().push((f, share));
                kept.push(None);
            }
            best => {
                let dbs = databases(ctx, &symptom);
                let near: Vec<&str> = causes
                    .iter()
                    .filter(|(_, c, _)| c.statements.iter().any(|(db, _)| dbs.contains(db)))
                    .map(|(_, _, title)| title.as_str())
                    .collect();
                if !near.is_empty() {
                    let measured = best.map_or_else(
                        || "how much of this they explain could not be measured".to_owned(),
                        |(_, (share, how))| {
                            format!(
                                "{how}: {:.0}%, under the {:.0}% that would explain it",
                                share * 100.0,
                                FOLD_MIN_SHARE * 100.0
                            )
                        },
                    );
                    f.evidence.notes.push(format!(
                        "Advised on the same database: {} ({measured}); apply that first and check whether this remains.",
                        near.join("; ")
                    ));
                }
                kept.push(Some(f));
            }
        }
    }
    for (i, symptoms) in folded {
        let Some(Some(cause)) = kept.get_mut(i) else {
            continue;
        };
        for (s, (share, how)) in symptoms {
            absorb(cause, s, share, &how);
        }
    }
    kept.into_iter().flatten().collect()
}

/// Adds symptom `s` to `cause` as evidence.
fn absorb(cause: &mut Finding, s: Finding, share: f64, how: &str) {
    cause
        .summary
        .push_str(&format!(" It also explains \"{}\": {how}.", s.title));
    cause.evidence = std::mem::take(&mut cause.evidence).against(
        &format!("share of \"{}\" explained", s.title),
        share,
        "ratio",
        FOLD_MIN_SHARE,
    );
    cause.evidence.notes.push(format!(
        "Folded in, not raised on its own: \"{}\" ({}). {}",
        s.title, how, s.summary
    ));
    for series in s.evidence.series {
        if !cause.evidence.series.contains(&series) {
            cause.evidence.series.push(series);
        }
    }
    if s.severity > cause.severity {
        cause.evidence.notes.push(format!(
            "Raised to {} by the folded symptom \"{}\".",
            s.severity.as_str(),
            s.title
        ));
        cause.severity = s.severity;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::{AdvisorConfig, Evidence, Severity, Snapshot};

    fn finding(kind: RecKind, key: &str) -> Finding {
        Finding {
            kind,
            key: key.to_owned(),
            severity: Severity::Info,
            title: key.to_owned(),
            summary: String::new(),
            action: String::new(),
            evidence: Evidence::default(),
            confidence: 0.5,
        }
    }

    #[test]
    fn symptoms_are_recognised_by_their_rules_keys() {
        assert_eq!(
            symptom(&finding(RecKind::Database, "read_replica/db")),
            Some(Symptom::Reads { agent: "db".into() })
        );
        assert_eq!(
            symptom(&finding(RecKind::Database, "buffer_cache/db/shop")),
            Some(Symptom::BufferCache {
                agent: "db".into(),
                database: "shop".into()
            })
        );
        assert_eq!(
            symptom(&finding(RecKind::App, "regression:/store/products")),
            Some(Symptom::RouteLatency {
                route: "/store/products".into()
            })
        );
        assert_eq!(symptom(&finding(RecKind::App, "chatty:/x")), None);
        assert!(is_cause(&finding(RecKind::Index, "shop/public.cart(a)")));
        assert!(is_cause(&finding(
            RecKind::Database,
            "big_scans/count/shop/1"
        )));
        assert!(!is_cause(&finding(RecKind::Database, "read_replica/db")));
    }

    #[test]
    fn an_unmeasured_share_folds_nothing() {
        // A cause and a symptom, but no series to measure the share by.
        let config = AdvisorConfig::default();
        let snapshot = Snapshot::at(0);
        let ctx = Context {
            snapshot: &snapshot,
            headroom: &[],
            config: &config,
        };
        let findings = vec![
            finding(RecKind::Index, "shop/public.cart(a)"),
            finding(RecKind::Database, "read_replica/db"),
        ];
        let out = fold(&ctx, findings.clone());
        assert_eq!(out, findings);
    }
}
