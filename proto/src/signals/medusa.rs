//! Signals of the agent's `medusa` source: the store's business volume and
//! catalog size, read from Medusa's own PostgreSQL.

use super::{Signal, signal};

pub const MEDUSA_ORDERS_TOTAL: Signal = signal!(
    Medusa,
    counter "medusa_orders_total",
    Count,
    ["currency"],
    "Orders placed since the agent started, by currency."
);
pub const MEDUSA_ORDER_VALUE_TOTAL: Signal = signal!(
    Medusa,
    counter "medusa_order_value_total",
    Money,
    ["currency"],
    "Value of the orders placed since the agent started, in the currency's main unit."
);
pub const MEDUSA_ORDERS_PER_MINUTE: Signal = signal!(
    Medusa,
    gauge "medusa_orders_per_minute",
    PerMinute,
    [],
    "Orders per minute over the last window, all currencies."
);
pub const MEDUSA_ORDER_VALUE_PER_MINUTE: Signal = signal!(
    Medusa,
    gauge "medusa_order_value_per_minute",
    PerMinute,
    ["currency"],
    "Order value per minute over the last window, in the currency's main unit."
);
pub const MEDUSA_CARTS_CREATED_TOTAL: Signal = signal!(
    Medusa,
    counter "medusa_carts_created_total",
    Count,
    [],
    "Carts created since the agent started."
);
pub const MEDUSA_CARTS_CREATED_PER_MINUTE: Signal = signal!(
    Medusa,
    gauge "medusa_carts_created_per_minute",
    PerMinute,
    [],
    "Carts created per minute over the last window."
);
pub const MEDUSA_CARTS_COMPLETED_TOTAL: Signal = signal!(
    Medusa,
    counter "medusa_carts_completed_total",
    Count,
    [],
    "Carts completed since the agent started."
);
pub const MEDUSA_CARTS_COMPLETED_PER_MINUTE: Signal = signal!(
    Medusa,
    gauge "medusa_carts_completed_per_minute",
    PerMinute,
    [],
    "Carts completed per minute over the last window."
);
pub const MEDUSA_PRODUCTS_ESTIMATE: Signal = signal!(
    Medusa,
    gauge "medusa_products_estimate",
    Count,
    [],
    "Rows of the product table (the planner's estimate)."
);
pub const MEDUSA_VARIANTS_ESTIMATE: Signal = signal!(
    Medusa,
    gauge "medusa_variants_estimate",
    Count,
    [],
    "Rows of the product_variant table (the planner's estimate)."
);
pub const MEDUSA_ORDERS_ESTIMATE: Signal = signal!(
    Medusa,
    gauge "medusa_orders_estimate",
    Count,
    [],
    "Rows of the order table (the planner's estimate)."
);
pub const MEDUSA_CARTS_ESTIMATE: Signal = signal!(
    Medusa,
    gauge "medusa_carts_estimate",
    Count,
    [],
    "Rows of the cart table (the planner's estimate)."
);
pub const MEDUSA_COUNT_EXACT: Signal = signal!(
    Medusa,
    gauge "medusa_count_exact",
    Bool,
    ["count"],
    "1 when the named count (orders, carts_created, carts_completed) is exact per window, 0 when estimated from inserts or not sent."
);
pub const MEDUSA_INVENTORY_OVERSOLD_LEVELS: Signal = signal!(
    Medusa,
    gauge "medusa_inventory_oversold_levels",
    Count,
    [],
    "Inventory levels whose reserved quantity exceeds the stocked one, as of the last complete pass."
);
pub const MEDUSA_INVENTORY_OVERSOLD_UNITS: Signal = signal!(
    Medusa,
    gauge "medusa_inventory_oversold_units",
    Count,
    [],
    "Units reserved beyond stock over those levels, as of the last complete pass."
);

/// Every signal of this family.
pub const ALL: &[Signal] = &[
    MEDUSA_ORDERS_TOTAL,
    MEDUSA_ORDER_VALUE_TOTAL,
    MEDUSA_ORDERS_PER_MINUTE,
    MEDUSA_ORDER_VALUE_PER_MINUTE,
    MEDUSA_CARTS_CREATED_TOTAL,
    MEDUSA_CARTS_CREATED_PER_MINUTE,
    MEDUSA_CARTS_COMPLETED_TOTAL,
    MEDUSA_CARTS_COMPLETED_PER_MINUTE,
    MEDUSA_PRODUCTS_ESTIMATE,
    MEDUSA_VARIANTS_ESTIMATE,
    MEDUSA_ORDERS_ESTIMATE,
    MEDUSA_CARTS_ESTIMATE,
    MEDUSA_COUNT_EXACT,
    MEDUSA_INVENTORY_OVERSOLD_LEVELS,
    MEDUSA_INVENTORY_OVERSOLD_UNITS,
];
