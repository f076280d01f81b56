"""Similar questions read as one entry with every household's name; different questions and topics stay apart."""

from __future__ import annotations

from bench.grouping import load_labelled, score
from bot.digest.grouping import Item, ask_kind, comparison_key, group_similar

# Twelve households asking the same thing (when does the card come), each in their own words and typing.
HEALTH_CARD = (
    "Xin hỏi khi nào gia đình tôi được cấp thẻ bảo hiểm y tế ạ?",
    "Cho tôi hỏi thẻ BHYT năm nay bao giờ mới được cấp vậy?",
    "Khi nào được cấp thẻ bảo hiểm y tế cho hộ nghèo?",
    "cho e hoi bao gio co the bhyt vay",
    "Bao giờ có thẻ BHYT mới ạ",
    "the bhyt nam nay khi nao phat a",
    "xin hoi khi nao duoc cap the bao hiem y te",
    "Chào cán bộ, cho hỏi thẻ bảo hiểm y tế bao giờ có ạ, em cảm ơn",
    "KHI NÀO PHÁT THẺ BẢO HIỂM Y TẾ?",
    "khi nao cap the bhyt",
    "Khi nào phát thẻ BHYT cho hộ nghèo ạ?",
    "Bao giờ phát thẻ bảo hiểm y tế vậy",
)
NAMES = ("Nguyễn Văn Bình", "Trần Thị Lan", "Lê Văn Tám", "Phạm Thị Hoa", "Võ Văn Kiệt", "Đỗ Thị Mai",
         "Huỳnh Văn Sang", "Bùi Thị Thảo", "Ngô Văn Nam", "Dương Thị Vy", "Phan Văn Phúc", "Trương Thị Tâm")
HAMLETS = ("tan-dan", "tan-hung", "tan-chu", "tan-hau")


def item(number: int, text: str, topic: str = "y-te", name: str | None = None, media: str | None = None) -> Item:
    field = "lao-dong-viec-lam" if topic == "dao-tao-nghe" else "giam-ngheo"
    return Item(number, text, name or f"Hộ số {number}", HAMLETS[number % 4], field, topic, "question", "new", media)


def test_twelve_households_asking_when_their_health_insurance_card_comes_read_as_one_entry_with_twelve_names() -> None:
    items = [item(i, text, name=NAMES[i]) for i, text in enumerate(HEALTH_CARD)]

    (group,) = group_similar(items)

    assert group.count == 12
    assert group.names == list(NAMES)
    assert group.hamlets == list(HAMLETS)
    assert any(text.casefold().endswith(group.representative.casefold()) for text in HEALTH_CARD)  # greeting gone


def test_unrelated_questions_of_one_topic_stay_apart() -> None:
    items = [
        item(1, "Khi nào được cấp thẻ bảo hiểm y tế?"),
        item(2, "Trạm y tế xã thiếu thuốc, người nghèo khám bệnh phải mua thuốc ngoài"),
        item(3, "Đi khám bệnh ở bệnh viện huyện có được miễn viện phí không?"),
        item(4, "Xin hỏi về vay vốn làm nhà cho hộ nghèo"),
    ]

    assert [g.count for g in group_similar(items)] == [1, 1, 1, 1]


def test_the_same_words_under_different_topics_never_merge() -> None:
    text = "Xin hỏi thủ tục vay vốn cần giấy tờ gì?"
    items = [item(1, text, "vay-ho-ngheo"), item(2, text, "vay-viec-lam"), item(3, text, "vay-ho-ngheo")]

    groups = group_similar(items)

    assert [(g.topic_id, g.count) for g in groups] == [("vay-ho-ngheo", 2), ("vay-viec-lam", 1)]


def test_groups_come_largest_first_then_in_the_order_first_seen() -> None:
    items = [
        item(1, "Đề nghị sửa đường vào ấp Tân Hậu", "khac"),
        item(2, "Học nghề may ở đâu?", "dao-tao-nghe"),
        item(3, "Xin hỏi học nghề may ở đâu ạ", "dao-tao-nghe"),
        item(4, "Xin lắp đèn đường ở ấp", "khac"),
    ]

    groups = group_similar(items)

    assert [[i.submission_id for i in g.items] for g in groups] == [[2, 3], [1], [4]]
    assert group_similar(list(reversed(items)))[0].count == 2


def test_the_representative_is_the_wording_most_households_used() -> None:
    items = [item(1, "Bao giờ cấp thẻ bảo hiểm y tế cho hộ nghèo?"),
             item(2, "Thẻ bảo hiểm y tế khi nào cấp cho hộ nghèo"),
             item(3, "Thẻ BHYT khi nào cấp cho hộ nghèo ạ?")]

    (group,) = group_similar(items)

    assert group.representative == "Thẻ bảo hiểm y tế khi nào cấp cho hộ nghèo"


def test_voice_messages_and_photos_without_words_stay_alone() -> None:
    items = [item(1, "", media="voice"), item(2, "", media="voice"), item(3, "", media="photo")]

    assert [g.count for g in group_similar(items)] == [1, 1, 1]


def test_one_word_does_not_swallow_every_question_containing_it() -> None:
    items = [item(1, "Nhà", "nha-o"), item(2, "Nhà tôi dột nát xin hỗ trợ sửa nhà", "nha-o"), item(3, "nhà ạ", "nha-o")]

    assert [[i.submission_id for i in g.items] for g in group_similar(items)] == [[1, 3], [2]]


def test_the_comparison_key_drops_accents_case_fillers_and_spells_out_abbreviations() -> None:
    assert comparison_key("Xin hỏi, thẻ BHYT của tôi đâu ạ?") == comparison_key("the bao hiem y te dau")
    assert comparison_key("Cho tôi hỏi vậy") == ""
    assert comparison_key("Đường ĐI Ở Tân Hậu") == "duong di o tan hau"


def test_the_labelled_set_is_grouped_with_precision_first() -> None:
    figures = score(group_similar, load_labelled())

    assert figures["precision"] >= 0.9
    assert figures["f1"] >= 0.7


def test_when_how_much_and_where_about_the_same_card_need_three_answers() -> None:
    items = [item(1, "Khi nào được cấp thẻ bảo hiểm y tế?"),
             item(2, "Nhà nước hỗ trợ bao nhiêu tiền mua thẻ bảo hiểm y tế?"),
             item(3, "Gia hạn thẻ bảo hiểm y tế ở đâu?"),
             item(4, "khi nao dc cap the bhyt a"),
             item(5, "the bhyt nha nuoc ho tro bn tien"),
             item(6, "gia han the bao hiem y te o dau vay")]

    assert [[i.submission_id for i in g.items] for g in group_similar(items)] == [[1, 4], [2, 5], [3, 6]]


def test_the_kind_of_ask_is_read_from_the_question_words_with_or_without_accents() -> None:
    kinds = {text: ask_kind(comparison_key(text)) for text in (
        "Khi nào được cấp thẻ?", "bao gio co the", "vay dc bn tien", "lãi suất vay bao nhiêu", "gia han o dau",
        "cần giấy tờ gì", "lam sao de dang ky", "hộ cận nghèo có được vay không", "tại sao không được vay",
        "vay tra trong bao lau", "xin sửa đường vào ấp")}

    assert list(kinds.values()) == ["when", "when", "how much", "rate", "where", "papers", "how", "whether", "why",
                                    "how long", ""]


def test_nha_typed_without_accents_is_a_house_and_only_a_particle_where_it_can_be_one() -> None:
    assert comparison_key("nha e bi dot nat xin ho tro sua nha") == comparison_key(
        "Nhà em bị dột nát xin hỗ trợ sửa nhà")
    assert comparison_key("Khi nào có tiền sửa nhà nha") == comparison_key("khi nao co tien sua nha giup e nha")
    assert comparison_key("hết bao nhiêu tiền vậy") == comparison_key("het bao nhieu tien vay")
    assert comparison_key("toi muon vay").endswith("vay")
    items = [item(1, "Nhà em dột nát có được hỗ trợ sửa nhà không ạ?", "nha-o"),
             item(2, "nha e dot nat co dc ho tro sua nha ko a", "nha-o")]

    assert [g.count for g in group_similar(items)] == [2]


def test_typing_shortcuts_are_spelled_out_and_a_typo_is_read_as_the_word_it_misses() -> None:
    assert comparison_key("ho ngheo vay dc bn tien ko") == comparison_key("hộ nghèo vay được bao nhiêu tiền không")
    assert comparison_key("hok đc j") == comparison_key("không được gì")
    items = [item(1, "Khi nào được cấp thẻ bảo hiểm y tế?"), item(2, "khi nao dc cap the bao hiem y te"),
             item(3, "khi nao dc cap thee bao hiem y te"), item(4, "khi nao duoc cap the bao hiemm y te a")]

    assert [g.count for g in group_similar(items)] == [4]


def test_the_representative_is_the_most_typical_member_without_its_greeting() -> None:
    items = [item(1, "Chào cán bộ, cho em hỏi khi nào được cấp thẻ bảo hiểm y tế ạ, em cảm ơn"),
             item(2, "Khi nào ấp Tân Hậu được cấp thẻ bảo hiểm y tế?"),
             item(3, "Khi nào được cấp thẻ bảo hiểm y tế ạ?"),
             item(4, "khi nao duoc cap the bhyt")]

    (group,) = group_similar(items)

    assert group.representative == "Khi nào được cấp thẻ bảo hiểm y tế ạ"
