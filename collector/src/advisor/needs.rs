//! How a reader of the snapshot declares what it reads: each rule (its
//! `needs` in `rules::RULES`), the headroom table (`resources::NEEDS`), the
//! fold (`rules::fold::NEEDS`) and the helpers rules share
//! (`statements::NEEDS`, `routes::NEEDS`) list the catalog signals they
//! read and how far back. `plan.rs` joins the declarations into what the
//! loader reads.

use headroom_proto::signals::Signal;

/// How far back a reader reads a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Span {
    /// The recent window (`[advisor] recent`) only: latest values, rates
    /// and increases over the window.
    Recent,
    /// The whole look-back (`[advisor] lookback`): trends, forecasts,
    /// seasonality, growth.
    Lookback,
}

/// One series (a histogram: all its parts) a reader needs, and how far back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub signal: &'static Signal,
    pub span: Span,
}

/// `signal` over the recent window.
pub const fn recent(signal: &'static Signal) -> Need {
    Need {
        signal,
        span: Span::Recent,
    }
}

/// `signal` over the whole look-back.
pub const fn lookback(signal: &'static Signal) -> Need {
    Need {
        signal,
        span: Span::Lookback,
    }
}
