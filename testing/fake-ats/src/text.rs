//! Deterministic randomness, word pools and description text for generated postings.

use sha2::{Digest as _, Sha256};

/// SplitMix64: small, fast and good enough to vary fake postings.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        let index = usize::try_from(self.below(items.len() as u64)).ok()?;
        items.get(index).copied()
    }

    /// `count` distinct items (fewer if the pool is smaller), in pool order.
    pub(crate) fn several<T: Copy>(&mut self, items: &[T], count: usize) -> Vec<T> {
        let mut chosen: Vec<usize> = Vec::with_capacity(count);
        while chosen.len() < count.min(items.len()) {
            let index = usize::try_from(self.below(items.len() as u64)).unwrap_or(0);
            if !chosen.contains(&index) {
                chosen.push(index);
            }
        }
        chosen.sort_unstable();
        chosen.into_iter().filter_map(|index| items.get(index).copied()).collect()
    }
}

/// 32 bytes derived from everything that identifies a posting; ids and the posting's [`Rng`] come from it.
pub(crate) fn digest(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

pub(crate) fn u64_at(bytes: &[u8; 32], at: usize) -> u64 {
    let mut word = [0u8; 8];
    if let Some(slice) = bytes.get(at..at + 8) {
        word.copy_from_slice(slice);
    }
    u64::from_le_bytes(word)
}

/// A version-4-shaped UUID string from the first 16 bytes.
pub(crate) fn uuid(bytes: &[u8; 32]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// "acme-corp" -> "Acme Corp"
pub(crate) fn company_name(token: &str) -> String {
    let words: Vec<String> = token
        .split(['-', '_', '.'])
        .filter(|word| !word.is_empty())
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
        })
        .collect();
    if words.is_empty() { "Example".to_owned() } else { words.join(" ") }
}

/// Escapes text for HTML (a non-breaking space becomes `&nbsp;`, as editors write it).
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
    out
}

/// Greenhouse's `content`: the whole HTML once more entity-escaped.
pub(crate) fn escape_markup(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 4);
    for c in html.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) const LEVELS: &[&str] = &["", "", "Senior ", "Staff ", "Principal ", "Junior ", "Lead "];

/// (role, department, team)
pub(crate) const ROLES: &[(&str, &str, &str)] = &[
    ("Backend Engineer", "Engineering", "Platform"),
    ("Frontend Engineer", "Engineering", "Web"),
    ("Fullstack Engineer", "Engineering", "Product Engineering"),
    ("Site Reliability Engineer", "Engineering", "Infrastructure"),
    ("Data Engineer", "Data", "Data Platform"),
    ("Machine Learning Engineer", "Engineering", "Applied ML"),
    ("Security Engineer", "Engineering", "Security"),
    ("iOS Engineer", "Engineering", "Mobile"),
    ("Android Engineer", "Engineering", "Mobile"),
    ("Engineering Manager", "Engineering", "Platform"),
    ("Product Manager", "Product", "Product Management"),
    ("Product Designer", "Design", "Design"),
    ("UX Researcher", "Design", "Research"),
    ("Data Scientist", "Data", "Analytics"),
    ("Data Analyst", "Data", "Analytics"),
    ("Account Executive", "Sales", "Account Executives"),
    ("Sales Development Representative", "Sales", "Sales Development"),
    ("Solutions Architect", "Sales", "Solutions"),
    ("Customer Success Manager", "Customer Success", "Customer Success"),
    ("Support Specialist", "Customer Success", "Support"),
    ("Marketing Manager", "Marketing", "Growth"),
    ("Content Strategist", "Marketing", "Brand"),
    ("Financial Analyst", "Finance", "FP&A"),
    ("Accountant", "Finance", "Accounting"),
    ("Recruiter", "People", "Talent Acquisition"),
    ("People Partner", "People", "People Operations"),
    ("Legal Counsel", "Legal", "Legal"),
    ("Operations Manager", "Operations", "Business Operations"),
    ("Technical Writer", "Engineering", "Developer Experience"),
    ("QA Engineer", "Engineering", "Quality"),
];

/// A place a posting can be in.
#[derive(Clone, Copy)]
pub(crate) struct Place {
    pub city: &'static str,
    pub region: &'static str,
    pub country: &'static str,
    pub code: &'static str,
}

const fn place(city: &'static str, region: &'static str, country: &'static str, code: &'static str) -> Place {
    Place { city, region, country, code }
}

pub(crate) const PLACES: &[Place] = &[
    place("San Francisco", "California", "United States", "US"),
    place("New York", "New York", "United States", "US"),
    place("Austin", "Texas", "United States", "US"),
    place("Seattle", "Washington", "United States", "US"),
    place("Chicago", "Illinois", "United States", "US"),
    place("Boston", "Massachusetts", "United States", "US"),
    place("Denver", "Colorado", "United States", "US"),
    place("Toronto", "Ontario", "Canada", "CA"),
    place("London", "England", "United Kingdom", "GB"),
    place("Dublin", "Leinster", "Ireland", "IE"),
    place("Berlin", "Berlin", "Germany", "DE"),
    place("Paris", "Île-de-France", "France", "FR"),
    place("Amsterdam", "North Holland", "Netherlands", "NL"),
    place("Tokyo", "Tokyo", "Japan", "JP"),
    place("Singapore", "Singapore", "Singapore", "SG"),
    place("Sydney", "New South Wales", "Australia", "AU"),
    place("Bengaluru", "Karnataka", "India", "IN"),
    place("São Paulo", "São Paulo", "Brazil", "BR"),
];

/// How a posting is worked: (Lever spelling, Ashby spelling).
pub(crate) const WORKPLACES: &[(&str, &str)] = &[("onsite", "OnSite"), ("remote", "Remote"), ("hybrid", "Hybrid")];

const INTROS: &[&str] = &[
    "{company} builds the tools that thousands of teams rely on every day. We’re a small, focused group with an outsized impact.",
    "At {company}, we help businesses move faster with software that just works. Our customers range from two-person startups to the Fortune 500.",
    "{company} is on a mission to make R&D teams more productive. We’re backed by great investors and growing quickly.",
    "{company} connects people with the services they need, in more than 40 countries. We care about craft, clarity and kindness.",
];

const DUTIES: &[&str] = &[
    "Design, build and ship features end to end with a small team",
    "Own the reliability and performance of the systems you build",
    "Work closely with customers to understand their problems",
    "Partner with design & product to shape the roadmap",
    "Mentor teammates and raise the bar through thoughtful reviews",
    "Turn ambiguous goals into clear, measurable plans",
    "Write clear documentation that others enjoy reading",
    "Improve our processes so the whole team moves faster",
    "Report progress to leadership every quarter",
    "Represent {company} at industry events and with partners",
];

const NEEDS: &[&str] = &[
    "3+ years of relevant professional experience",
    "Excellent written and verbal communication",
    "A bias for action and a habit of finishing what you start",
    "Experience in a fast-growing company",
    "Comfort with ambiguity and changing priorities",
    "Curiosity about how things work, and why",
    "A track record of collaborating across teams",
    "Fluency in English; other languages are a plus",
];

const BENEFITS: &[&str] = &[
    "Competitive salary and equity, medical, dental & vision coverage, and a learning stipend.",
    "Flexible time off, a home-office budget, and 16 weeks of paid parental leave.",
    "Health & wellness benefits, a 401(k) match, and an annual team offsite.",
];

/// The parts of a generated description; renderers turn it into HTML or plain text.
pub(crate) struct Description {
    pub intro: String,
    pub role: String,
    pub duties: Vec<String>,
    pub needs: Vec<String>,
    pub benefits: String,
}

impl Description {
    pub(crate) fn new(rng: &mut Rng, company: &str, title: &str, location: &str) -> Description {
        let fill = |line: &str| line.replace("{company}", company);
        let intro = fill(rng.pick(INTROS).unwrap_or_default());
        let role = format!(
            "We’re hiring a {title} in {location}.\u{a0}You’ll join a team that ships every week and owns its work."
        );
        let how_many = 3 + rng.below(2) as usize;
        let duties = rng.several(DUTIES, how_many).into_iter().map(fill).collect();
        let needs = rng.several(NEEDS, 3).into_iter().map(fill).collect();
        let benefits = rng.pick(BENEFITS).unwrap_or_default().to_owned();
        Description { intro, role, duties, needs, benefits }
    }

    fn list_html(items: &[String]) -> String {
        items.iter().map(|item| format!("<li>{}</li>", escape_html(item))).collect()
    }

    pub(crate) fn duties_html(&self) -> String {
        Self::list_html(&self.duties)
    }

    pub(crate) fn needs_html(&self) -> String {
        Self::list_html(&self.needs)
    }

    pub(crate) fn html(&self) -> String {
        format!(
            "<p><strong>About us</strong></p><p>{}</p><p>{}</p><p><strong>What you’ll do</strong></p><ul>{}</ul>\
             <p><strong>What you’ll bring</strong></p><ul>{}</ul><p style=\"text-align: left;\">{}</p>",
            escape_html(&self.intro),
            escape_html(&self.role),
            self.duties_html(),
            self.needs_html(),
            escape_html(&self.benefits),
        )
    }

    pub(crate) fn plain(&self) -> String {
        let bullets = |items: &[String]| items.iter().map(|item| format!("• {item}\n")).collect::<String>();
        format!(
            "About us\n{}\n{}\n\nWhat you’ll do\n{}\nWhat you’ll bring\n{}\n{}\n",
            self.intro,
            self.role,
            bullets(&self.duties),
            bullets(&self.needs),
            self.benefits
        )
    }
}
