//! What the user agents are: browser, operating system, device class and, for automated
//! clients, the crawler's name; counted per kind of agent with its visitors.
//!
//! A user agent is parsed (with `woothee`) once per distinct string and the answer cached by
//! the string's hash, so the cost per line stays that of one table lookup however varied the
//! agents are.

/// Visitors of one kind of agent: a HyperLogLog of 2^10 registers (about 3 % error), which
/// turns dense after a few hundred visitors instead of keeping a sorted list of thousands.
pub type Visitors = cardinality_estimator::CardinalityEstimator<str, wyhash::WyHash, 10, 6>;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// The class of device a user agent names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// A desktop or laptop browser.
    Desktop,
    /// A phone.
    Mobile,
    /// A tablet.
    Tablet,
    /// A crawler, script or scanner.
    Bot,
    /// A console, a TV, a feed reader, or an agent nothing could be told of.
    Other,
}

impl Device {
    /// The name shown and used in filters.
    pub fn name(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
            Device::Bot => "bot",
            Device::Other => "other",
        }
    }
}

/// Browser and operating system of automated clients, as GoAccess groups them.
pub const CRAWLERS: &str = "Crawlers";
/// A browser or operating system that could not be told.
pub const UNKNOWN: &str = "Unknown";
/// The crawler name of requests with no user agent at all.
pub const NO_AGENT: &str = "(no user agent)";
/// Longest crawler name kept (a user agent's product token can be anything).
const MAX_NAME: usize = 40;

/// What a user agent is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Kind {
    /// Browser family (`Chrome`, `Firefox`), [`CRAWLERS`] for automated clients.
    pub browser: CompactString,
    /// Operating system (`Windows 10`, `Android`), [`CRAWLERS`] for automated clients.
    pub os: CompactString,
    /// Device class.
    pub device: Device,
    /// For automated clients, the crawler's or tool's name (`Googlebot`, `curl`).
    pub crawler: Option<CompactString>,
}

/// True when `user_agent` is automated: tailpulse's own check ([`super::is_bot`]) or a
/// crawler `woothee` knows.
pub fn is_automated(user_agent: &str) -> bool {
    classify(user_agent, super::is_bot(user_agent)).device == Device::Bot
}

/// Tells what `user_agent` is; `bot` is tailpulse's own automated-client check
/// ([`super::is_bot`]), which also counts scripts and scanners `woothee` takes for browsers.
pub fn classify(user_agent: &str, bot: bool) -> Kind {
    let parsed = woothee::parser::Parser::new().parse(user_agent);
    let known = |s: &str| s != woothee::woothee::VALUE_UNKNOWN && !s.is_empty();
    let category = parsed.as_ref().map_or("", |w| w.category);
    if bot || category == "crawler" {
        let name = match &parsed {
            Some(w) if category == "crawler" && known(w.name) && w.name != "misc crawler" => {
                CompactString::from(w.name)
            }
            _ => product_token(user_agent),
        };
        return Kind {
            browser: CRAWLERS.into(),
            os: CRAWLERS.into(),
            device: Device::Bot,
            crawler: Some(name),
        };
    }
    let (browser, os) = match &parsed {
        Some(w) => (
            if known(w.name) { w.name } else { UNKNOWN },
            if known(w.os) {
                w.os
            } else {
                windows_nt(user_agent).unwrap_or(UNKNOWN)
            },
        ),
        None => (UNKNOWN, windows_nt(user_agent).unwrap_or(UNKNOWN)),
    };
    let device = match category {
        _ if os == "iPad" => Device::Tablet,
        _ if os == "Android" && !user_agent.contains("Mobile") => Device::Tablet,
        "pc" => Device::Desktop,
        "smartphone" | "mobilephone" => Device::Mobile,
        _ => Device::Other,
    };
    Kind {
        browser: browser.into(),
        os: os.into(),
        device,
        crawler: None,
    }
}

/// The Windows of a `Windows NT x.y` token woothee does not name (NT 5.2 is XP x64 and
/// Server 2003).
fn windows_nt(user_agent: &str) -> Option<&'static str> {
    let at = user_agent.find("Windows NT ")? + "Windows NT ".len();
    let version = user_agent[at..].split([';', ')', ' ']).next()?;
    Some(match version {
        "5.0" => "Windows 2000",
        "5.1" | "5.2" => "Windows XP",
        "6.0" => "Windows Vista",
        "6.1" => "Windows 7",
        "6.2" => "Windows 8",
        "6.3" => "Windows 8.1",
        "10.0" => "Windows 10",
        _ => return None,
    })
}

/// The name of an automated client from its user agent: the first product token that looks
/// automated (`MJ12bot` of `Mozilla/5.0 (compatible; MJ12bot/v1.4.4; …)`), else the first
/// one (`curl` of `curl/8.0`); printable ASCII only and bounded, so a hostile agent cannot
/// put control characters or a megabyte into a panel.
fn product_token(user_agent: &str) -> CompactString {
    let names = || {
        user_agent
            .split([' ', ';', '(', ')', ','])
            .filter_map(|t| t.split('/').next())
            .filter(|t| !t.is_empty() && !t.starts_with('+') && !t.contains(['@', ':']))
            .filter(|t| !matches!(*t, "Mozilla" | "compatible"))
    };
    let token = names()
        .find(|t| super::is_bot(t))
        .or_else(|| names().next())
        .unwrap_or("");
    let clean: CompactString = token
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(MAX_NAME)
        .collect();
    if clean.is_empty() {
        NO_AGENT.into()
    } else {
        clean
    }
}

/// Requests and visitors of one kind of agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tally {
    /// What the agents are.
    pub kind: Kind,
    /// Requests.
    pub requests: u64,
    /// Distinct (client, user agent) pairs.
    pub visitors: Visitors,
    /// The visitor last counted (not saved).
    #[serde(skip)]
    last_visitor: Option<u64>,
}

/// Distinct kinds counted apart; past this, new kinds are counted as one unknown kind (only
/// crawler names vary without bound).
const MAX_KINDS: usize = 4096;
/// Distinct user agents whose answer is cached; the cache starts over past this.
const CACHE: usize = 1 << 16;

/// Requests and visitors per kind of agent.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Tally>", into = "Vec<Tally>")]
pub struct Agents {
    rows: Vec<Tally>,
    index: hashbrown::HashMap<Kind, u32>,
    /// A user agent's hash → (its row, whether it is automated).
    cache: hashbrown::HashMap<u64, (u32, bool)>,
}

impl From<Vec<Tally>> for Agents {
    fn from(rows: Vec<Tally>) -> Self {
        let mut a = Agents::default();
        for t in &rows {
            a.merge_tally(t);
        }
        a
    }
}

impl From<Agents> for Vec<Tally> {
    fn from(a: Agents) -> Self {
        a.rows
    }
}

impl Agents {
    /// Counts a request of the visitor hashed `visitor` whose user agent `user_agent` hashes
    /// to `agent`; says what the agent is.
    pub fn add(&mut self, user_agent: &str, agent: u64, visitor: u64) -> &Kind {
        let (row, _) = match self.cache.get(&agent) {
            Some(hit) => *hit,
            None => self.learn(user_agent, agent),
        };
        let t = &mut self.rows[row as usize];
        t.requests += 1;
        // A visitor's requests often come one after another: the sketch is left alone then.
        if t.last_visitor != Some(visitor) {
            t.visitors.insert_hash(visitor);
            t.last_visitor = Some(visitor);
        }
        &t.kind
    }

    /// Adds `n` requests of agents of kind `kind` whose visitors are not known (stored
    /// history keeps no user agents).
    pub fn add_requests(&mut self, kind: Kind, n: u64) {
        let row = self.row(kind) as usize;
        self.rows[row].requests += n;
    }

    /// Whether the user agent hashed `agent` is automated, parsing it when it is new.
    pub fn is_bot(&mut self, user_agent: &str, agent: u64) -> bool {
        match self.cache.get(&agent) {
            Some(hit) => hit.1,
            None => self.learn(user_agent, agent).1,
        }
    }

    fn learn(&mut self, user_agent: &str, agent: u64) -> (u32, bool) {
        let kind = classify(user_agent, super::is_bot(user_agent));
        let bot = kind.device == Device::Bot;
        let row = self.row(kind);
        if self.cache.len() >= CACHE {
            self.cache.clear();
        }
        self.cache.insert(agent, (row, bot));
        (row, bot)
    }

    fn row(&mut self, kind: Kind) -> u32 {
        if let Some(i) = self.index.get(&kind) {
            return *i;
        }
        let kind = if self.rows.len() >= MAX_KINDS {
            Kind {
                browser: UNKNOWN.into(),
                os: UNKNOWN.into(),
                device: kind.device,
                crawler: kind.crawler.map(|_| super::capped::OTHER.into()),
            }
        } else {
            kind
        };
        let rows = &mut self.rows;
        *self.index.entry(kind).or_insert_with_key(|k| {
            rows.push(Tally {
                kind: k.clone(),
                requests: 0,
                visitors: Visitors::new(),
                last_visitor: None,
            });
            (rows.len() - 1) as u32
        })
    }

    fn merge_tally(&mut self, t: &Tally) {
        let i = self.row(t.kind.clone()) as usize;
        let mine = &mut self.rows[i];
        mine.requests += t.requests;
        mine.visitors.merge(&t.visitors);
    }

    /// Adds the kinds of `o`.
    pub fn merge(&mut self, o: &Agents) {
        for t in &o.rows {
            self.merge_tally(t);
        }
    }

    /// Every kind counted, in no order.
    pub fn iter(&self) -> impl Iterator<Item = &Tally> {
        self.rows.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
    const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1";
    const ANDROID_TAB: &str = "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36";
    const GOOGLEBOT: &str =
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

    fn kind(ua: &str) -> Kind {
        classify(ua, super::super::is_bot(ua))
    }

    #[test]
    fn browsers_systems_and_devices() {
        let k = kind(CHROME_WIN);
        assert_eq!(
            (&*k.browser, &*k.os, k.device),
            ("Chrome", "Windows 10", Device::Desktop)
        );
        let k = kind(IPHONE);
        assert_eq!(
            (&*k.browser, &*k.os, k.device),
            ("Safari", "iPhone", Device::Mobile)
        );
        assert_eq!(kind(IPAD).device, Device::Tablet);
        assert_eq!(kind(ANDROID_TAB).device, Device::Tablet);
        assert_eq!(kind("").device, Device::Bot, "no user agent is automated");
        assert_eq!(kind("").crawler.as_deref(), Some(NO_AGENT));
    }

    /// Regression (a user's trial on a real Apache log): agents woothee does not know were
    /// counted as an unknown browser on an unknown system.
    #[test]
    fn crawlers_with_a_contact_and_older_windows_are_named() {
        let k = kind("Mozilla/5.0 (compatible; Ezooms/1.0; help@moz.com)");
        assert_eq!(
            (k.device, k.crawler.as_deref()),
            (Device::Bot, Some("Ezooms"))
        );
        let k = kind("Apache-Nutch/1.9 (+http://example.org/crawler.html)");
        assert_eq!(k.device, Device::Bot);
        let k = kind("Mozilla/5.0 (Windows NT 5.2; rv:10.0) Gecko/20100101 Firefox/10.0");
        assert_eq!((&*k.browser, &*k.os), ("Firefox", "Windows XP"));
        // A browser's agent is not taken for a crawler.
        let safari = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15";
        assert_eq!(kind(safari).device, Device::Desktop);
        assert_eq!(kind(CHROME_WIN).device, Device::Desktop);
    }

    #[test]
    fn crawlers_by_name_and_hostile_agents_bounded() {
        let k = kind(GOOGLEBOT);
        assert_eq!((&*k.browser, k.device), (CRAWLERS, Device::Bot));
        assert_eq!(k.crawler.as_deref(), Some("Googlebot"));
        assert_eq!(kind("curl/8.4.0").crawler.as_deref(), Some("curl"));
        assert_eq!(
            product_token(
                "Mozilla/5.0 (compatible; MJ12bot/v1.4.4; http://www.majestic12.co.uk/bot.php?+)"
            ),
            "MJ12bot"
        );
        assert_eq!(
            product_token(
                "Mozilla/5.0 (compatible; archive.org_bot +http://www.archive.org/details/archive.org_bot)"
            ),
            "archive.org_bot"
        );
        let hostile = format!("<script>{}bot/1", "x".repeat(5000));
        assert!(kind(&hostile).crawler.unwrap().len() <= MAX_NAME);
        let name = product_token(&format!("<script>{}", "\u{202e}x".repeat(5000)));
        assert_eq!(
            name.len(),
            MAX_NAME,
            "control and non-ASCII characters dropped"
        );
        assert_eq!(
            &name[..8],
            "<script>",
            "kept as text; escaping is the renderer's"
        );
    }

    #[test]
    fn counts_per_kind_merge_and_survive_a_round_trip() {
        let mut a = Agents::default();
        for (i, ua) in [CHROME_WIN, CHROME_WIN, IPHONE, GOOGLEBOT]
            .iter()
            .enumerate()
        {
            let h = crate::hash::stable(crate::hash::Purpose::Agent, ua.as_bytes());
            a.add(ua, h, i as u64);
        }
        let mut b = Agents::default();
        let h = crate::hash::stable(crate::hash::Purpose::Agent, IPHONE.as_bytes());
        assert_eq!(b.add(IPHONE, h, 99).device, Device::Mobile);
        b.merge(&a);
        let json = serde_json::to_string(&b).unwrap();
        let back: Agents = serde_json::from_str(&json).unwrap();
        let mut rows: Vec<(String, u64, u64)> = back
            .iter()
            .map(|t| {
                (
                    t.kind.browser.to_string(),
                    t.requests,
                    t.visitors.estimate() as u64,
                )
            })
            .collect();
        rows.sort();
        assert_eq!(
            rows,
            [
                ("Chrome".into(), 2, 2),
                ("Crawlers".into(), 1, 1),
                ("Safari".into(), 2, 2)
            ]
        );
    }

    #[test]
    fn kinds_past_the_cap_fold_into_one() {
        let mut a = Agents::default();
        for i in 0..MAX_KINDS + 50 {
            let ua = format!("scanner{i}/1.0");
            let h = crate::hash::stable(crate::hash::Purpose::Agent, ua.as_bytes());
            assert_eq!(a.add(&ua, h, 1).device, Device::Bot, "{ua} is automated");
        }
        assert_eq!(a.rows.len(), MAX_KINDS + 1);
        let folded = a.rows.last().unwrap();
        assert_eq!(folded.requests, 50);
        assert_eq!(
            folded.kind.crawler.as_deref(),
            Some(super::super::capped::OTHER)
        );
    }
}
