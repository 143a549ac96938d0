"""Generate a catalogue (products, stores, popularity) from the scenario's catalogue section."""

from __future__ import annotations

import random
from dataclasses import dataclass

from shopsim.contract.ids import product_id
from shopsim.contract.rng import cumulative, stream

_WORDS = {
    "electronics": (["Wireless", "Bluetooth 5.3", "Mini", "Smart", "Portable", "USB-C", "4K", "Noise-Cancelling"],
                    ["Earbuds", "Speaker", "Smartwatch", "Power Bank", "Action Camera", "Projector", "Keyboard", "Mouse"]),
    "phone_accessories": (["Magnetic", "Shockproof", "Clear", "Fast-Charge", "Braided", "Tempered"],
                          ["Phone Case", "Charger", "Cable", "Screen Protector", "Car Mount", "Ring Holder"]),
    "fashion": (["Oversized", "Vintage", "Casual", "Slim Fit", "Summer", "Knitted", "Linen"],
                ["T-Shirt", "Hoodie", "Dress", "Sneakers", "Jacket", "Jeans", "Tote Bag", "Sunglasses"]),
    "home_garden": (["LED", "Foldable", "Bamboo", "Ceramic", "Solar", "Stainless Steel", "Nordic"],
                    ["Lamp", "Storage Box", "Planter", "Mug Set", "Garden Light", "Kitchen Scale", "Shelf"]),
    "beauty": (["Organic", "Matte", "Hydrating", "Professional", "Waterproof", "Travel"],
               ["Lipstick", "Serum", "Brush Set", "Hair Dryer", "Nail Kit", "Face Mask"]),
    "toys": (["Educational", "Remote Control", "Wooden", "Magnetic", "Plush", "Building"],
             ["Blocks", "Car", "Puzzle", "Drone", "Doll", "Robot Kit"]),
    "sports": (["Adjustable", "Quick-Dry", "Anti-Slip", "Lightweight", "Resistance"],
               ["Yoga Mat", "Dumbbells", "Cycling Gloves", "Running Belt", "Jump Rope", "Bands"]),
    "tools": (["Cordless", "Precision", "Multi-Function", "Digital", "Magnetic"],
              ["Screwdriver Set", "Drill", "Multimeter", "Soldering Iron", "Tape Measure", "Pliers"]),
}
_GENERIC = (["Premium", "Classic", "Compact", "Deluxe", "Essential", "Eco"],
            ["Set", "Kit", "Pack", "Bundle", "Edition", "Item"])
_STORE_A = ["Lumi", "Orbit", "Kato", "Nova", "Zen", "Ugreen", "Baseus", "Vento", "Mira", "Aster", "Pico", "Rilo"]
_STORE_B = ["Store", "Official Store", "Flagship Store", "Global Store", "Direct", "Mall"]


@dataclass(frozen=True, slots=True)
class ProductDef:
    index: int
    id: str
    name: str
    category: str
    price_cents: int
    store: str
    price: float = 0.0  # price_cents / 100, precomputed for the hot path

    def __post_init__(self) -> None:
        object.__setattr__(self, "price", self.price_cents / 100)


def _shop_price(x: float) -> int:
    """Marketplace-style prices: 12.99, 3.49; in cents."""
    cents = round(x * 100)
    if cents >= 300:
        return max(99, (cents // 100) * 100 - 1)
    return max(1, cents)


def build_catalogue(cat, seed: int) -> tuple[tuple[ProductDef, ...], tuple[str, ...], list[float]]:
    """(products, stores, popularity weights) for the scenario's `catalogue` section."""
    rng = stream(seed, "catalogue", "products")
    stores = tuple(
        f"{rng.choice(_STORE_A)}{'' if i < len(_STORE_A) else ' ' + str(i)} {rng.choice(_STORE_B)}"
        for i in range(cat.stores)
    )
    names = list(cat.categories)
    shares = cumulative(c.share for c in cat.categories.values())
    samplers = {n: (c.price or cat.price).sampler() for n, c in cat.categories.items()}
    products: list[ProductDef] = []
    import bisect

    for i in range(cat.products):
        category = names[min(len(names) - 1, bisect.bisect(shares, rng.random() * shares[-1]))]
        adj, noun = _WORDS.get(category, _GENERIC)
        name = f"{rng.choice(adj)} {rng.choice(noun)}"
        price = _shop_price(samplers[category](rng))
        products.append(ProductDef(i, product_id(i), name, category, price, rng.choice(stores)))
    for item in cat.items:
        products.append(ProductDef(len(products), item.id, item.name, item.category,
                                   round(item.price * 100), item.store or stores[0]))
    # Zipf popularity over a random ranking: a few best-sellers, a long tail.
    ranks = list(range(1, len(products) + 1))
    random.Random(rng.random()).shuffle(ranks)
    popularity = [1.0 / r**cat.popularity for r in ranks]
    return tuple(products), stores, popularity
