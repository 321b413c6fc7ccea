//! The one hash behind every value tailpulse stores or compares across runs: XXH3-64 (the
//! algorithm is fixed by its specification, so a value written today is the value computed
//! by any later version), with one seed per purpose so ids of different things never
//! coincide by construction. Hash maps that live only in memory use faster, unpinned hashers.
//!
//! [`legacy`] holds the hashes of stored data written before this module existed, kept only
//! to read that data.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// What a hash identifies; each has its own seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// The first bytes of a followed file (its fingerprint in a read position).
    FileHead = 0x6865_6164,
    /// A client address.
    Client = 0x636c_6965_6e74,
    /// A request path without its query string.
    Path = 0x7061_7468,
    /// A user agent.
    Agent = 0x0061_6765_6e74,
    /// A source of rows in a shared store (an instance's file or stream).
    Source = 0x736f_7572_6365,
}

/// The pinned hash of `bytes` for `purpose`.
pub fn stable(purpose: Purpose, bytes: &[u8]) -> u64 {
    xxh3_64_with_seed(bytes, purpose as u64)
}

/// The id of a visitor (a client address with a user agent) for the unique-visitor sketches:
/// the address hashed with the agent's hash as the seed.
pub fn visitor(client: &[u8], agent_hash: u64) -> u64 {
    xxh3_64_with_seed(client, agent_hash)
}

/// The hashes of data stored before [`stable`] (foldhash 0.2.0's fixed-seed hasher, pinned
/// to that exact version for this reason): read positions and detection state of that
/// format are recognised by them.
pub mod legacy {
    use std::hash::BuildHasher;

    /// A file fingerprint of a version-1 read position.
    pub fn file_head(head: &[u8]) -> u64 {
        foldhash::fast::FixedState::with_seed(0x6865_6164).hash_one(head)
    }

    /// A client id of version-1 detection state.
    pub fn client(client: &str) -> u64 {
        foldhash::fast::FixedState::with_seed(1).hash_one(client.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test vectors: these values are stored in databases and must never change. They were
    /// computed apart, with the reference C implementation (Python's `xxhash` 3.x:
    /// `xxh3_64_intdigest(data, seed)`); the first is XXH3-64 of nothing with seed 0.
    #[test]
    fn stored_hashes_never_change() {
        assert_eq!(xxh3_64_with_seed(b"", 0), 0x2d06_8005_38d3_94c2);
        let head = stable(Purpose::FileHead, b"203.0.113.9 - - [17/May/2015");
        assert_eq!(head, 0x2384_95b0_3273_7376);
        assert_eq!(
            stable(Purpose::Client, b"203.0.113.9"),
            0xf528_b65c_440e_ad9f
        );
        assert_eq!(
            stable(Purpose::Path, b"/wp-login.php"),
            0xa5c3_fd71_b704_427b
        );
        let agent = stable(Purpose::Agent, b"curl/8.0");
        assert_eq!(visitor(b"203.0.113.9", agent), 0xc26a_95ed_c2d0_44dd);
        assert_eq!(
            stable(Purpose::Source, b"tailpulse"),
            17_221_435_367_902_182_782
        );
    }

    /// The legacy fingerprint is the one the fixture database of the earlier format holds for
    /// the first 64 bytes of its log (`tests/fixtures/state-v1`).
    #[test]
    fn legacy_fingerprint_matches_what_was_stored() {
        let head = b"216.6.206.253 - - [17/May/2015:10:05:03 +0000] \"GET /presentatio";
        assert_eq!(head.len(), 64, "the fingerprint covers 64 bytes");
        assert_eq!(legacy::file_head(head), 3_321_460_755_600_585_329);
    }
}
