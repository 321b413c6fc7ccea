//! Percentiles from the sketch stay within 1 % of the exact value.

use proptest::prelude::*;
use tailpulse::aggregate::latency::{Latency, RELATIVE_ERROR};

fn exact(sorted: &[u64], q: f64) -> f64 {
    let rank = (q * (sorted.len() as f64 - 1.0)) as usize;
    sorted[rank] as f64 / 1000.0
}

fn check(values: &[u64]) {
    let mut l = Latency::default();
    for &v in values {
        l.record_us(v);
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    for q in [0.5, 0.9, 0.95, 0.99] {
        let want = exact(&sorted, q);
        let got = l.quantile(q).unwrap();
        let bound = want * RELATIVE_ERROR + 1e-9;
        assert!(
            (got - want).abs() <= bound,
            "q={q}: sketch {got} vs exact {want}"
        );
    }
    assert_eq!(l.max_ms(), Some(*sorted.last().unwrap() as f64 / 1000.0));
    let avg = values.iter().sum::<u64>() as f64 / values.len() as f64 / 1000.0;
    assert!((l.avg_ms().unwrap() - avg).abs() < 1e-9);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn within_bound_on_random_values(values in prop::collection::vec(1u64..60_000_000, 1..2000)) {
        check(&values);
    }

    #[test]
    fn within_bound_on_log_normal_like(seed in 0u64..1000) {
        // Heavy-tailed latencies: exp of a spread of exponents, 1 µs .. ~30 s.
        let values: Vec<u64> = (0..5000u64)
            .map(|i| {
                let x = ((i.wrapping_mul(2654435761).wrapping_add(seed * 97)) % 10_000) as f64 / 10_000.0;
                (x * 17.0).exp().max(1.0) as u64
            })
            .collect();
        check(&values);
    }
}
