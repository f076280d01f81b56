"""Similar questions read as one entry with every household's name; different questions and topics stay apart."""

from __future__ import annotations

from bot.digest.grouping import Item, comparison_key, group_similar

HEALTH_CARD = (
    "Xin hỏi khi nào gia đình tôi được cấp thẻ bảo hiểm y tế ạ?",
    "Cho tôi hỏi thẻ BHYT năm nay bao giờ mới được cấp vậy?",
    "Khi nào được cấp thẻ bảo hiểm y tế cho hộ nghèo?",
    "Thẻ bảo hiểm y tế của nhà tôi hết hạn rồi, bao giờ cấp thẻ mới?",
    "Bao giờ có thẻ BHYT mới ạ",
    "Nhà tôi chưa nhận được thẻ bảo hiểm y tế",
    "xin hoi khi nao duoc cap the bao hiem y te",
    "Hộ cận nghèo có được cấp thẻ bảo hiểm y tế không?",
    "KHI NÀO PHÁT THẺ BẢO HIỂM Y TẾ?",
    "Tôi muốn hỏi về việc cấp thẻ bảo hiểm y tế cho hộ nghèo năm 2023",
    "Khi nào phát thẻ BHYT cho hộ nghèo ạ?",
    "Cấp thẻ bảo hiểm y tế chậm quá, xin hỏi lý do?",
)
NAMES = ("Nguyễn Văn Bình", "Trần Thị Lan", "Lê Văn Tám", "Phạm Thị Hoa", "Võ Văn Kiệt", "Đỗ Thị Mai",
         "Huỳnh Văn Sang", "Bùi Thị Thảo", "Ngô Văn Nam", "Dương Thị Vy", "Phan Văn Phúc", "Trương Thị Tâm")
HAMLETS = ("tan-dan", "tan-hung", "tan-chu", "tan-hau")


def item(number: int, text: str, topic: str = "y-te", name: str | None = None, media: str | None = None) -> Item:
    field = "lao-dong-viec-lam" if topic == "dao-tao-nghe" else "giam-ngheo"
    return Item(number, text, name or f"Hộ số {number}", HAMLETS[number % 4], field, topic, "question", "new", media)


def test_twelve_households_asking_for_their_health_insurance_card_read_as_one_entry_with_twelve_names() -> None:
    items = [item(i, text, name=NAMES[i]) for i, text in enumerate(HEALTH_CARD)]

    (group,) = group_similar(items)

    assert group.count == 12
    assert group.names == list(NAMES)
    assert group.hamlets == list(HAMLETS)
    assert group.representative in HEALTH_CARD


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
