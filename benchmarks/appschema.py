"""Schema and seed data of the per-worker database benchmark (``databases.py``).

A small shop, as an application's test setup would create it: customers and their
addresses, product categories, products, orders and order items, with foreign keys,
checks, unique constraints, secondary indexes and a view; seeded from a fixed seed with
1,000 customers, 1,000 addresses, 20 categories, 500 products, 2,000 orders and about
5,000 order items (times ``$DBBENCH_SCALE``, 1 by default). ``create_schema`` is the
``setup`` of ``[tool.testfleet.databases.app]`` in the benchmark's suites, and the
function each worker calls itself in the setup-in-each-worker recipe; ``databases.py``
copies this file into every suite.
"""

from __future__ import annotations

import functools
import os
import random
from typing import Any

import psycopg

SEED = 20261128
#: Multiplies the number of customers, products and orders (``databases.py --scale``).
SCALE_VARIABLE = "DBBENCH_SCALE"
CUSTOMERS = 1000
CATEGORIES = 20
PRODUCTS = 500
ORDERS = 2000
#: Tables in the order they are filled; the benchmark's tests count their rows.
TABLES = ("customers", "addresses", "categories", "products", "orders", "order_items")

SCHEMA = (
    """CREATE TABLE customers (
        id integer PRIMARY KEY,
        email text NOT NULL UNIQUE,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )""",
    """CREATE TABLE addresses (
        id integer PRIMARY KEY,
        customer_id integer NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
        line1 text NOT NULL,
        city text NOT NULL,
        postcode text NOT NULL,
        country char(2) NOT NULL
    )""",
    """CREATE TABLE categories (
        id integer PRIMARY KEY,
        name text NOT NULL UNIQUE,
        parent_id integer REFERENCES categories (id)
    )""",
    """CREATE TABLE products (
        id integer PRIMARY KEY,
        sku text NOT NULL UNIQUE,
        name text NOT NULL,
        category_id integer NOT NULL REFERENCES categories (id),
        price_cents integer NOT NULL CHECK (price_cents >= 0),
        stock integer NOT NULL DEFAULT 0 CHECK (stock >= 0)
    )""",
    """CREATE TABLE orders (
        id integer PRIMARY KEY,
        customer_id integer NOT NULL REFERENCES customers (id),
        status text NOT NULL CHECK (status IN ('cart', 'paid', 'shipped', 'returned')),
        placed_at timestamptz NOT NULL
    )""",
    """CREATE TABLE order_items (
        order_id integer NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        product_id integer NOT NULL REFERENCES products (id),
        quantity integer NOT NULL CHECK (quantity > 0),
        price_cents integer NOT NULL,
        PRIMARY KEY (order_id, product_id)
    )""",
    "CREATE INDEX addresses_customer ON addresses (customer_id)",
    "CREATE INDEX products_category ON products (category_id)",
    "CREATE INDEX orders_customer ON orders (customer_id)",
    "CREATE INDEX orders_placed ON orders (placed_at)",
    "CREATE INDEX order_items_product ON order_items (product_id)",
    """CREATE VIEW order_totals AS
        SELECT o.id, o.customer_id, sum(i.quantity * i.price_cents) AS total_cents
        FROM orders o JOIN order_items i ON i.order_id = o.id
        GROUP BY o.id, o.customer_id""",
)

_INSERTS = {
    "customers": "INSERT INTO customers (id, email, name) VALUES (%s, %s, %s)",
    "addresses": "INSERT INTO addresses VALUES (%s, %s, %s, %s, %s, %s)",
    "categories": "INSERT INTO categories VALUES (%s, %s, %s)",
    "products": "INSERT INTO products VALUES (%s, %s, %s, %s, %s, %s)",
    "orders": "INSERT INTO orders VALUES (%s, %s, %s, now() - make_interval(mins => %s))",
    "order_items": "INSERT INTO order_items VALUES (%s, %s, %s, %s)",
}


def scale() -> float:
    """The seed's size relative to the default, from ``$DBBENCH_SCALE`` (1 when unset)."""
    return float(os.environ.get(SCALE_VARIABLE, "1"))


@functools.cache
def seed_rows(size: float = 1.0) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows at ``size``, the same on every call and machine (a fixed seed)."""
    rng = random.Random(SEED)
    customers, products, orders = (max(1, round(n * size)) for n in (CUSTOMERS, PRODUCTS, ORDERS))
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in TABLES}
    for i in range(1, customers + 1):
        rows["customers"].append((i, f"customer{i}@example.test", f"Customer {i}"))
        rows["addresses"].append(
            (i, i, f"{rng.randint(1, 999)} High Street", f"Town {i % 97}", f"{i:05d}", "GB")
        )
    for i in range(1, CATEGORIES + 1):
        rows["categories"].append((i, f"Category {i}", None if i <= 4 else 1 + i % 4))
    for i in range(1, products + 1):
        price = rng.randint(99, 99_999)
        rows["products"].append(
            (i, f"SKU-{i:05d}", f"Product {i}", rng.randint(1, CATEGORIES), price, 10)
        )
    statuses = ("cart", "paid", "shipped", "returned")
    for i in range(1, orders + 1):
        rows["orders"].append(
            (i, rng.randint(1, customers), rng.choice(statuses), rng.randint(0, 525_600))
        )
        for product in rng.sample(range(1, products + 1), min(products, rng.randint(1, 4))):
            rows["order_items"].append((i, product, rng.randint(1, 5), rng.randint(99, 99_999)))
    return rows


def row_counts() -> dict[str, int]:
    """How many rows each table has after :func:`create_schema`."""
    return {table: len(rows) for table, rows in seed_rows(scale()).items()}


def create_schema(url: str) -> None:
    """Create the tables in the empty database at ``url`` and seed them, in one transaction."""
    with psycopg.connect(url) as conn, conn.cursor() as cursor:
        for statement in SCHEMA:
            cursor.execute(statement)
        for table, rows in seed_rows(scale()).items():
            cursor.executemany(_INSERTS[table], rows)
