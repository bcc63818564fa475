"""Japanese vocabularies of the demo data: people, shops, addresses, the category tree and product names.

Every word carries its katakana reading (for the ``name_kana`` columns, which Japanese screens sort by) and its
romaji (for e-mail addresses and domains, which must stay ASCII). The lists are small on purpose: a demo needs
names that look real, and combinations make them plentiful enough.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass

from tokui.customers.enums import Industry
from tokui.tracking.enums import EventSource

DEMO_SOURCE = EventSource.DEMO.value  # the ``source`` of every demo row, events and customers alike

# --- People ---------------------------------------------------------------------------------------------------

SURNAMES: tuple[tuple[str, str, str], ...] = (
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"), ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"), ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"), ("山下", "ヤマシタ", "yamashita"),
    ("中島", "ナカジマ", "nakajima"), ("石井", "イシイ", "ishii"), ("小川", "オガワ", "ogawa"),
    ("前田", "マエダ", "maeda"), ("岡田", "オカダ", "okada"), ("長谷川", "ハセガワ", "hasegawa"),
    ("藤田", "フジタ", "fujita"), ("後藤", "ゴトウ", "goto"), ("近藤", "コンドウ", "kondo"),
    ("村上", "ムラカミ", "murakami"), ("遠藤", "エンドウ", "endo"), ("青木", "アオキ", "aoki"),
    ("坂本", "サカモト", "sakamoto"), ("福田", "フクダ", "fukuda"), ("太田", "オオタ", "ota"),
    ("西村", "ニシムラ", "nishimura"), ("藤井", "フジイ", "fujii"), ("金子", "カネコ", "kaneko"),
    ("岡本", "オカモト", "okamoto"), ("藤原", "フジワラ", "fujiwara"), ("三浦", "ミウラ", "miura"),
    ("中野", "ナカノ", "nakano"), ("原田", "ハラダ", "harada"), ("松田", "マツダ", "matsuda"),
    ("竹内", "タケウチ", "takeuchi"), ("小野", "オノ", "ono"), ("田村", "タムラ", "tamura"),
    ("和田", "ワダ", "wada"), ("上野", "ウエノ", "ueno"),
)  # fmt: skip

GIVEN_NAMES_FEMALE: tuple[tuple[str, str, str], ...] = (
    ("美咲", "ミサキ", "misaki"), ("陽子", "ヨウコ", "yoko"), ("由美", "ユミ", "yumi"), ("恵", "メグミ", "megumi"),
    ("彩", "アヤ", "aya"), ("優子", "ユウコ", "yuko"), ("真由美", "マユミ", "mayumi"), ("智子", "トモコ", "tomoko"),
    ("香織", "カオリ", "kaori"), ("麻衣", "マイ", "mai"), ("愛", "アイ", "ai"), ("結衣", "ユイ", "yui"),
    ("さくら", "サクラ", "sakura"), ("葵", "アオイ", "aoi"), ("奈々", "ナナ", "nana"), ("千尋", "チヒロ", "chihiro"),
    ("沙織", "サオリ", "saori"), ("理恵", "リエ", "rie"), ("明美", "アケミ", "akemi"), ("直美", "ナオミ", "naomi"),
    ("菜摘", "ナツミ", "natsumi"), ("美穂", "ミホ", "miho"), ("遥", "ハルカ", "haruka"), ("瞳", "ヒトミ", "hitomi"),
    ("美紀", "ミキ", "miki"), ("綾乃", "アヤノ", "ayano"), ("真央", "マオ", "mao"), ("莉子", "リコ", "riko"),
    ("美月", "ミヅキ", "mizuki"), ("由佳", "ユカ", "yuka"), ("裕美", "ヒロミ", "hiromi"), ("佳奈", "カナ", "kana"),
)  # fmt: skip

GIVEN_NAMES_MALE: tuple[tuple[str, str, str], ...] = (
    ("健一", "ケンイチ", "kenichi"), ("大輔", "ダイスケ", "daisuke"), ("翔太", "ショウタ", "shota"),
    ("誠", "マコト", "makoto"), ("拓也", "タクヤ", "takuya"), ("直樹", "ナオキ", "naoki"), ("浩二", "コウジ", "koji"),
    ("隆", "タカシ", "takashi"), ("和也", "カズヤ", "kazuya"), ("健太", "ケンタ", "kenta"), ("亮", "リョウ", "ryo"),
    ("剛", "ツヨシ", "tsuyoshi"), ("修", "オサム", "osamu"), ("聡", "サトシ", "satoshi"), ("大樹", "ダイキ", "daiki"),
    ("悠斗", "ユウト", "yuto"), ("蓮", "レン", "ren"), ("達也", "タツヤ", "tatsuya"), ("秀樹", "ヒデキ", "hideki"),
    ("雅人", "マサト", "masato"), ("洋平", "ヨウヘイ", "yohei"), ("恭介", "キョウスケ", "kyosuke"),
)  # fmt: skip

# The staff of the demo wholesaler: (username, display name, role value). The admin is created by the runtime.
STAFF: tuple[tuple[str, str, str], ...] = (
    ("sato", "佐藤 健一", "sales_rep"),
    ("suzuki", "鈴木 美咲", "sales_rep"),
    ("takahashi", "高橋 大輔", "sales_rep"),
    ("tanaka", "田中 由美", "sales_rep"),
    ("ito", "伊藤 翔太", "sales_rep"),
    ("yamamoto", "山本 彩", "marketer"),
    ("nakamura", "中村 誠", "viewer"),
)

# (department, title) of a buyer at a customer shop; the first list is for the primary contact.
PRIMARY_ROLES: tuple[tuple[str, str], ...] = (
    ("", "代表取締役"), ("", "店長"), ("仕入部", "バイヤー"), ("商品部", "部長"),
)  # fmt: skip
OTHER_ROLES: tuple[tuple[str, str], ...] = (
    ("仕入部", "バイヤー"), ("商品部", "MD"), ("店舗運営部", "店長"), ("営業部", "課長"), ("経理部", "担当"),
    ("EC事業部", "マネージャー"), ("販売部", "スタッフ"), ("総務部", "担当"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PersonName:
    name: str
    kana: str
    given_romaji: str
    family_romaji: str


def person_name(rng: random.Random, *, female_share: float = 0.65) -> PersonName:
    """A full name written family-name first with a space, as Japanese business cards do."""
    family, family_kana, family_romaji = rng.choice(SURNAMES)
    pool = GIVEN_NAMES_FEMALE if rng.random() < female_share else GIVEN_NAMES_MALE
    given, given_kana, given_romaji = rng.choice(pool)
    return PersonName(f"{family} {given}", f"{family_kana} {given_kana}", given_romaji, family_romaji)


# --- Shops ----------------------------------------------------------------------------------------------------

HIRAGANA_WORDS: tuple[tuple[str, str, str], ...] = (
    ("さくら", "サクラ", "sakura"), ("こもれび", "コモレビ", "komorebi"), ("つむぎ", "ツムギ", "tsumugi"),
    ("あおい", "アオイ", "aoi"), ("ひなた", "ヒナタ", "hinata"), ("そら", "ソラ", "sora"),
    ("かえで", "カエデ", "kaede"), ("すみれ", "スミレ", "sumire"), ("つばき", "ツバキ", "tsubaki"),
    ("いろは", "イロハ", "iroha"), ("わかば", "ワカバ", "wakaba"), ("みのり", "ミノリ", "minori"),
    ("はるか", "ハルカ", "haruka"), ("なごみ", "ナゴミ", "nagomi"), ("ゆい", "ユイ", "yui"),
    ("あかり", "アカリ", "akari"), ("こはる", "コハル", "koharu"), ("しずく", "シズク", "shizuku"),
)  # fmt: skip

BRAND_WORDS: tuple[tuple[str, str, str], ...] = tuple(
    (kana, kana, romaji)
    for kana, romaji in (
        ("ルミエール", "lumiere"), ("ノワール", "noir"), ("ソレイユ", "soleil"), ("フルール", "fleur"),
        ("エトワール", "etoile"), ("ブランシュ", "blanche"), ("リュクス", "luxe"), ("ココン", "cocon"),
        ("ミモザ", "mimosa"), ("オリーブ", "olive"), ("マーレ", "mare"), ("リベルテ", "liberte"),
        ("ボヌール", "bonheur"), ("ラパン", "lapin"), ("シエル", "ciel"), ("ポム", "pomme"), ("ルーチェ", "luce"),
        ("ステラ", "stella"), ("アンジュ", "ange"), ("ヴェール", "vert"), ("ミュゲ", "muguet"), ("リラ", "lilas"),
        ("メゾン", "maison"), ("アトリエ", "atelier"), ("ジャルダン", "jardin"), ("カーム", "calme"),
        ("ノール", "nord"), ("ソワレ", "soiree"), ("フォレ", "foret"), ("パレット", "palette"), ("アミ", "ami"),
        ("クレール", "claire"), ("グランマ", "granma"), ("ハーバー", "harbor"), ("ウィロー", "willow"),
    )
)  # fmt: skip

PLACE_WORDS: tuple[tuple[str, str, str], ...] = (
    ("中央", "チュウオウ", "chuo"), ("駅前", "エキマエ", "ekimae"), ("本町", "ホンマチ", "honmachi"),
    ("大通", "オオドオリ", "odori"), ("栄町", "サカエマチ", "sakaemachi"), ("港", "ミナト", "minato"),
    ("東", "ヒガシ", "higashi"), ("西", "ニシ", "nishi"), ("北", "キタ", "kita"), ("南", "ミナミ", "minami"),
    ("丸", "マル", "maru"), ("旭", "アサヒ", "asahi"), ("若葉", "ワカバ", "wakaba"), ("城下", "ジョウカ", "joka"),
)  # fmt: skip

# (name, kana, domain slug) templates per industry. ``{legal}`` becomes a legal form (or nothing); the other
# slots are filled from the word lists above, kana and romaji alike.
SHOP_TEMPLATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    Industry.APPAREL_RETAIL.value: (
        ("{legal}ブティック{hira}", "ブティック{hira}", "boutique-{hira}"),
        ("{legal}{surname}洋品店", "{surname}ヨウヒンテン", "{surname}-yohinten"),
        ("{legal}{surname}衣料店", "{surname}イリョウテン", "{surname}-iryo"),
        ("ブティック {brand}", "ブティック {brand}", "boutique-{brand}"),
        ("{legal}ファッション{surname}", "ファッション{surname}", "fashion-{surname}"),
        ("{brand} {place}店", "{brand} {place}テン", "{brand}-{place}"),
    ),
    Industry.SELECT_SHOP.value: (
        ("セレクトショップ {brand}", "セレクトショップ {brand}", "select-{brand}"),
        ("{legal}{brand}", "{brand}", "{brand}-shop"),
        ("{brand}・{brand2}", "{brand}・{brand2}", "{brand}-{brand2}"),
        ("{hira} セレクト", "{hira} セレクト", "{hira}-select"),
    ),
    Industry.DEPARTMENT_STORE.value: (
        ("{legal}{place}百貨店", "{place}ヒャッカテン", "{place}-dept"),
        ("{legal}{surname}屋百貨店", "{surname}ヤヒャッカテン", "{surname}ya-dept"),
    ),
    Industry.GENERAL_STORE.value: (
        ("雑貨と服 {hira}", "ザッカトフク {hira}", "zakka-{hira}"),
        ("{legal}{surname}商店", "{surname}ショウテン", "{surname}-shoten"),
        ("生活雑貨 {brand}", "セイカツザッカ {brand}", "lifestyle-{brand}"),
    ),
    Industry.ONLINE_SHOP.value: (
        ("{brand} オンラインストア", "{brand} オンラインストア", "{brand}-online"),
        ("{legal}{hira}ネットショップ", "{hira}ネットショップ", "{hira}-netshop"),
        ("{brand}{brand2} EC", "{brand}{brand2} イーシー", "{brand}{brand2}-ec"),
    ),
    Industry.UNIFORM.value: (
        ("{legal}{surname}ユニフォーム", "{surname}ユニフォーム", "{surname}-uniform"),
        ("{legal}{place}ワークウェア", "{place}ワークウェア", "{place}-workwear"),
    ),
    Industry.WHOLESALE.value: (
        ("{legal}{surname}繊維", "{surname}センイ", "{surname}-seni"),
        ("{legal}{place}商事", "{place}ショウジ", "{place}-shoji"),
    ),
    Industry.OTHER.value: (
        ("{hira}工房", "{hira}コウボウ", "{hira}-kobo"),
        ("ダンス用品 {brand}", "ダンスヨウヒン {brand}", "dance-{brand}"),
        ("{legal}{brand}企画", "{brand}キカク", "{brand}-kikaku"),
    ),
}


@dataclass(frozen=True, slots=True)
class ShopName:
    name: str
    kana: str
    slug: str


def _legal_form(rng: random.Random, name: str) -> str:
    """Put a legal form before or after the name, or none (a sole proprietor's shop)."""
    roll = rng.random()
    if roll < 0.35:
        return f"株式会社{name}"
    if roll < 0.55:
        return f"{name}株式会社"
    if roll < 0.72:
        return f"有限会社 {name}"
    if roll < 0.77:
        return f"合同会社{name}"
    return name


def shop_name(rng: random.Random, industry: str) -> ShopName:
    """A plausible shop name for ``industry`` with its kana and an ASCII slug for its mail domain."""
    name_template, kana_template, slug_template = rng.choice(SHOP_TEMPLATES[industry])
    hira, brand, brand2 = rng.choice(HIRAGANA_WORDS), rng.choice(BRAND_WORDS), rng.choice(BRAND_WORDS)
    surname, place = rng.choice(SURNAMES), rng.choice(PLACE_WORDS)
    slots = {"hira": hira, "brand": brand, "brand2": brand2, "surname": surname, "place": place}
    name = name_template.replace("{legal}", "").format(**{key: word[0] for key, word in slots.items()})
    if "{legal}" in name_template:
        name = _legal_form(rng, name)
    kana = kana_template.format(**{key: word[1] for key, word in slots.items()})
    slug = slug_template.format(**{key: word[2] for key, word in slots.items()})
    return ShopName(name=name, kana=kana, slug=slug)


AGENCIES: tuple[tuple[str, str, str], ...] = (
    # (code, name, region served: prefecture codes it introduces shops from, "" = anywhere)
    ("AG-01", "株式会社ファッションリンク", ""),
    ("AG-02", "関西アパレルネット株式会社", "25 26 27 28 29 30"),
    ("AG-03", "九州テキスタイル商事株式会社", "40 41 42 43 44 45 46 47"),
)

# --- Addresses ------------------------------------------------------------------------------------------------

# Prefecture code -> (weight, [(city + town, postal code, phone area code), ...]). Weighted to the big cities
# where apparel shops cluster.
PREFECTURE_ADDRESSES: dict[str, tuple[float, tuple[tuple[str, str, str], ...]]] = {
    "13": (26, (("渋谷区神宮前", "150-0001", "03"), ("渋谷区恵比寿", "150-0013", "03"),
                ("新宿区新宿", "160-0022", "03"), ("中央区銀座", "104-0061", "03"),
                ("中央区日本橋馬喰町", "103-0002", "03"), ("台東区浅草橋", "111-0053", "03"),
                ("目黒区自由が丘", "152-0035", "03"), ("世田谷区三軒茶屋", "154-0024", "03"),
                ("武蔵野市吉祥寺本町", "180-0004", "0422"), ("港区南青山", "107-0062", "03"))),
    "27": (12, (("大阪市中央区心斎橋筋", "542-0085", "06"), ("大阪市北区梅田", "530-0001", "06"),
                ("大阪市中央区南船場", "542-0081", "06"), ("大阪市中央区本町", "541-0053", "06"),
                ("大阪市西区北堀江", "550-0014", "06"))),
    "23": (8, (("名古屋市中区栄", "460-0008", "052"), ("名古屋市中村区名駅", "450-0002", "052"),
               ("名古屋市中区大須", "460-0011", "052"))),
    "14": (8, (("横浜市中区元町", "231-0861", "045"), ("横浜市西区南幸", "220-0005", "045"),
               ("鎌倉市小町", "248-0006", "0467"), ("川崎市川崎区駅前本町", "210-0007", "044"))),
    "40": (6, (("福岡市中央区天神", "810-0001", "092"), ("福岡市中央区大名", "810-0041", "092"),
               ("福岡市博多区博多駅前", "812-0011", "092"))),
    "01": (5, (("札幌市中央区南一条西", "060-0061", "011"), ("札幌市中央区北五条西", "060-0005", "011"))),
    "11": (4, (("さいたま市大宮区宮町", "330-0802", "048"), ("川越市脇田町", "350-1123", "049"))),
    "12": (3, (("千葉市中央区富士見", "260-0015", "043"), ("船橋市本町", "273-0005", "047"))),
    "28": (4, (("神戸市中央区三宮町", "650-0021", "078"), ("神戸市中央区元町通", "650-0022", "078"))),
    "26": (4, (("京都市中京区河原町通", "604-8005", "075"), ("京都市下京区四条通", "600-8001", "075"))),
    "04": (3, (("仙台市青葉区一番町", "980-0811", "022"),)),
    "34": (3, (("広島市中区本通", "730-0035", "082"),)),
    "22": (2, (("静岡市葵区紺屋町", "420-0852", "054"),)),
    "15": (1, (("新潟市中央区古町通", "951-8063", "025"),)),
    "33": (1, (("岡山市北区表町", "700-0822", "086"),)),
    "43": (1, (("熊本市中央区上通町", "860-0845", "096"),)),
    "46": (1, (("鹿児島市東千石町", "892-0842", "099"),)),
    "47": (1, (("那覇市牧志", "900-0013", "098"),)),
    "17": (1, (("金沢市片町", "920-0981", "076"),)),
    "21": (1, (("岐阜市柳ケ瀬通", "500-8875", "058"),)),
}  # fmt: skip

BUILDING_WORDS: tuple[str, ...] = ("ビル", "ハイツ", "テラス", "スクエア", "プラザ", "会館")


@dataclass(frozen=True, slots=True)
class Address:
    prefecture: str
    postal_code: str
    text: str
    area_code: str
    area: str  # the neighbourhood, as in a branch name: 神宮前店, 心斎橋筋店


def prefecture_pick(rng: random.Random) -> str:
    codes = sorted(PREFECTURE_ADDRESSES)
    return rng.choices(codes, weights=[PREFECTURE_ADDRESSES[code][0] for code in codes])[0]


def address(rng: random.Random, prefecture: str) -> Address:
    """A street address in ``prefecture`` (without the prefecture, which has its own field), often with a building."""
    town, postal_code, area_code = rng.choice(PREFECTURE_ADDRESSES[prefecture][1])
    text = f"{town}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    if rng.random() < 0.6:
        building = rng.choice(HIRAGANA_WORDS + BRAND_WORDS)[1]
        text += f" {building}{rng.choice(BUILDING_WORDS)} {rng.randint(1, 8)}F"
    area = re.split("[区市]", town)[-1]
    return Address(prefecture=prefecture, postal_code=postal_code, text=text, area_code=area_code, area=area)


def landline(rng: random.Random, area_code: str) -> str:
    """A ten-digit landline number of the area: 03-1234-5678, 052-123-4567, 0422-12-3456."""
    exchange_digits = 10 - len(area_code) - 4
    exchange = rng.randint(10 ** (exchange_digits - 1), 10**exchange_digits - 1)
    return f"{area_code}-{exchange}-{rng.randint(0, 9999):04d}"


def mobile(rng: random.Random) -> str:
    return f"0{rng.choice((70, 80, 90))}-{rng.randint(1000, 9999)}-{rng.randint(0, 9999):04d}"


# --- Catalog and the apparel calendar ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeafSpec:
    """A product category with what its products are made of, called and priced at (list price, yen)."""

    key: str
    name: str
    slug: str
    price_min: int
    price_max: int
    seasons: str  # "SS", "AW" or "ALL": the seasons the category is designed for
    silhouette: str  # the drawing in images.py
    items: tuple[str, ...]
    materials: tuple[str, ...]
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class TopSpec:
    """A top category; a top with a single leaf of its own slug holds its products itself (ワンピース)."""

    key: str
    name: str
    slug: str
    weight: float
    leaves: tuple[LeafSpec, ...]

    @property
    def holds_products(self) -> bool:
        return len(self.leaves) == 1 and self.leaves[0].slug == self.slug


CATEGORY_TREE: tuple[TopSpec, ...] = (
    TopSpec("tops", "トップス", "トップス", 0.32, (
        LeafSpec("tshirt", "Tシャツ/カットソー", "tシャツ-カットソー", 1900, 5900, "SS", "tshirt",
                 ("クルーネックTシャツ", "ポケットTシャツ", "ロングスリーブTシャツ", "ボーダーカットソー",
                  "ヘンリーネックカットソー", "フレンチスリーブTシャツ"),
                 ("コットン", "オーガニックコットン", "天竺", "スラブ", "リサイクルポリエステル", "ワッフル"), 1.3),
        LeafSpec("shirt", "シャツ・ブラウス", "シャツ-ブラウス", 4900, 12900, "ALL", "shirt",
                 ("バンドカラーシャツ", "オックスフォードシャツ", "ギャザーブラウス", "ボウタイブラウス",
                  "オープンカラーシャツ", "ストライプシャツ"),
                 ("リネン", "コットンリネン", "ブロード", "シアサッカー", "レーヨン", "ダンガリー"), 1.2),
        LeafSpec("knit", "ニット", "ニット", 5900, 16900, "AW", "knit",
                 ("クルーネックニット", "タートルネックニット", "カーディガン", "ケーブルニットベスト",
                  "モックネックニット"),
                 ("ウール", "メリノウール", "カシミヤ混", "モヘア混", "アクリル", "ラムウール")),
    )),
    TopSpec("bottoms", "ボトムス", "ボトムス", 0.22, (
        LeafSpec("pants", "パンツ", "パンツ", 5900, 15900, "ALL", "trousers",
                 ("ワイドパンツ", "テーパードパンツ", "デニムパンツ", "タックパンツ", "カーゴパンツ", "イージーパンツ"),
                 ("デニム", "チノ", "ツイル", "リネン", "ウール", "コーデュロイ"), 1.3),
        LeafSpec("skirt", "スカート", "スカート", 4900, 13900, "ALL", "skirt",
                 ("プリーツスカート", "フレアスカート", "タイトスカート", "マーメイドスカート", "ティアードスカート"),
                 ("ポリエステル", "サテン", "リネン", "デニム", "ウール", "シフォン")),
    )),
    TopSpec("outer", "アウター", "アウター", 0.16, (
        LeafSpec("jacket", "ジャケット", "ジャケット", 12900, 29000, "ALL", "jacket",
                 ("テーラードジャケット", "ノーカラージャケット", "デニムジャケット", "ブルゾン", "シャツジャケット"),
                 ("ウール", "リネン", "ツイード", "コットン", "ナイロン")),
        LeafSpec("coat", "コート", "コート", 19000, 39000, "AW", "coat",
                 ("チェスターコート", "ステンカラーコート", "トレンチコート", "ダウンコート", "ダッフルコート"),
                 ("ウール", "ウールカシミヤ", "メルトン", "コットンギャバジン", "ナイロン")),
    )),
    TopSpec("onepiece", "ワンピース", "ワンピース", 0.12, (
        LeafSpec("onepiece", "ワンピース", "ワンピース", 6900, 19900, "ALL", "dress",
                 ("シャツワンピース", "ニットワンピース", "キャミワンピース", "ティアードワンピース",
                  "ジャンパースカート"),
                 ("コットン", "リネン", "レーヨン", "ウール", "ジョーゼット")),
    )),
    TopSpec("goods", "服飾雑貨", "服飾雑貨", 0.18, (
        LeafSpec("bag", "バッグ", "バッグ", 3900, 18900, "ALL", "bag",
                 ("トートバッグ", "ショルダーバッグ", "リュック", "巾着バッグ", "サコッシュ"),
                 ("キャンバス", "レザー", "フェイクレザー", "ナイロン", "ジュート"), 1.2),
        LeafSpec("hat", "帽子", "帽子", 2900, 7900, "ALL", "hat",
                 ("バケットハット", "キャップ", "ベレー帽", "ニット帽", "ストローハット"),
                 ("コットン", "ウール", "ペーパー", "ナイロン", "アクリル")),
        LeafSpec("stole", "ストール", "ストール", 2900, 9900, "AW", "stole",
                 ("ストール", "マフラー", "スカーフ", "スヌード"),
                 ("カシミヤ", "ウール", "コットン", "シルク混", "リネン"), 0.8),
    )),
)  # fmt: skip

TOP_KEYS = tuple(top.key for top in CATEGORY_TREE)
TOP_WEIGHTS = tuple(top.weight for top in CATEGORY_TREE)


def season_of(day: dt.date) -> str:
    """The selling season of a date: SS from February, AW from August (January still sells the last AW)."""
    if day.month >= 8:
        return f"{day.year}AW"
    if day.month >= 2:
        return f"{day.year}SS"
    return f"{day.year - 1}AW"


def season_ordinal(season: str) -> int:
    """Seasons in sale order: 2025SS < 2025AW < 2026SS."""
    return int(season[:4]) * 2 + (1 if season.endswith("AW") else 0)


STYLES: tuple[str, ...] = (
    "オーバーサイズ", "リラックス", "ショート丈", "ロング丈", "ヴィンテージ加工", "ガーメントダイ", "2WAY",
    "ビッグシルエット", "ベーシック", "ゆったり", "すっきり", "きれいめ",
)  # fmt: skip

# (Japanese name, RGB) of the colours a product comes in.
COLOURS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("ネイビー", (32, 46, 92)), ("ブラック", (36, 36, 40)), ("オフホワイト", (240, 235, 224)),
    ("ホワイト", (250, 250, 250)), ("ベージュ", (214, 196, 168)), ("グレー", (150, 150, 156)),
    ("チャコール", (70, 72, 80)), ("カーキ", (122, 118, 80)), ("オリーブ", (102, 106, 60)),
    ("ブラウン", (122, 82, 56)), ("モカ", (152, 122, 100)), ("ボルドー", (112, 32, 48)),
    ("サックスブルー", (150, 186, 222)), ("ピンク", (232, 170, 182)), ("マスタード", (206, 160, 52)),
    ("ラベンダー", (182, 166, 212)), ("グリーン", (60, 122, 82)), ("レッド", (190, 46, 52)),
    ("キャメル", (192, 142, 90)),
)  # fmt: skip


def product_name(rng: random.Random, leaf: LeafSpec, colour: str) -> str:
    """Material + style + item + colour, as catalogues list them: リネン オーバーサイズシャツ / ネイビー."""
    item = rng.choice(leaf.items)
    material = rng.choice(leaf.materials)
    style = rng.choice(STYLES) if rng.random() < 0.55 else ""
    return f"{material} {style}{item} / {colour}"


def product_description(leaf: LeafSpec, name: str, season: str) -> str:
    when = f"{season}シーズンの新作です。" if season else "通年でお取り扱いいただける定番商品です。"
    return f"{name.split(' / ')[0]}。{leaf.name}カテゴリの売れ筋デザインを、卸価格でご提供します。{when}"


# --- The shop's pages and searches (for the web behaviour) ----------------------------------------------------

SHOP_URL = "https://shop.example.jp"
SHOP_TITLE = "得意アパレル 卸サイト"

PAGES: tuple[tuple[str, str, float], ...] = (
    # (path, title, weight)
    ("/", f"トップページ | {SHOP_TITLE}", 3.0),
    ("/products/new", "新着商品一覧", 3.0),
    ("/ranking", "売れ筋ランキング", 2.0),
    ("/guide/order", "ご注文方法・送料について", 0.8),
    ("/mypage/orders", "注文履歴", 1.5),
    ("/mypage/favorites", "お気に入り", 1.0),
    ("/news/exhibition", "展示会のお知らせ", 0.6),
    ("/lookbook", "ルックブック", 0.8),
)
NEW_ARRIVALS_PATH = "/products/new"

# (query, leaf key to look in; "new" = new arrivals, "" = anywhere)
SEARCH_QUERIES: tuple[tuple[str, str], ...] = (
    ("リネン シャツ", "shirt"), ("ワイドパンツ", "pants"), ("ニット ベスト", "knit"), ("ウール コート", "coat"),
    ("Tシャツ 白", "tshirt"), ("ワンピース 黒", "onepiece"), ("トートバッグ", "bag"), ("キャップ", "hat"),
    ("カシミヤ ストール", "stole"), ("カーディガン", "knit"), ("デニム", "pants"), ("プリーツスカート", "skirt"),
    ("テーラードジャケット", "jacket"), ("ボーダー", "tshirt"), ("ブラウス", "shirt"), ("ダウン", "coat"),
    ("新作", "new"), ("春 新作", "new"), ("まとめ買い", ""), ("ベレー帽", "hat"), ("セットアップ", "jacket"),
)  # fmt: skip
