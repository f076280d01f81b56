"""``python -m bench export``: the committee report of 50,000 submissions, as Excel and as Word.

A real SQLite file is filled with 50,000 submissions of the seed 000 commune (its four hamlets, its topics,
Vietnamese questions written many ways, a few voice messages and photos, a few withdrawn). Then, each in a fresh
Python process so that peaks of memory do not mix:

- ours: ``bot.reports`` reads the dialogue and writes the XLSX (summary and detail sheets) or the DOCX (grouped
  entries, tables, chart);
- bare: the same rows, read by the same query, written with the library alone: openpyxl write-only rows, and
  python-docx one plain paragraph per submission.

Each child reports its seconds (reading and writing, without the interpreter start) and its peak RSS
(``VmHWM``, see bench/memory.py). The Word report merges similar questions first (``bot.digest.grouping``), which is
why it is far smaller — and may be faster — than the bare 50,000 paragraphs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.memory import peak_rss_mb

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config.example.toml"
DIALOGUE = "tan-thuan-tay-2027"
GOALS = {"xlsx_seconds": 5.0, "docx_seconds": 10.0, "peak_rss_mb": 300.0, "ratio": 2.0}
JOBS = ("ours-xlsx", "ours-docx", "bare-xlsx", "bare-docx")

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Bùi", "Đặng", "Đỗ", "Ngô", "Dương")
MIDDLE = ("Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Kim", "Công")
GIVEN = ("An", "Bình", "Cường", "Dũng", "Hoa", "Lan", "Mai", "Nam", "Phúc", "Tâm", "Thảo", "Vy", "Sang", "Hậu")
HAMLETS = {"tan-dan": 10, "tan-hung": 10, "tan-chu": 10, "tan-hau": 20}
CATEGORIES = ("poor", "near_poor", "escaped")
KINDS = ("question", "question", "question", "opinion", "petition", "proposal")
STATUSES = ("new",) * 12 + ("later", "forwarded", "answered", "at_dialogue", "withdrawn")
OPENERS = ("", "Xin hỏi ", "Cho tôi hỏi ", "Kính thưa xã, ", "Tôi muốn hỏi ", "Cho em hỏi ", "Dạ cho hỏi ")
CLOSERS = ("", " ạ?", "?", " vậy?", " xin cảm ơn.", ". Nhà tôi khó khăn lắm.", " cho hộ cận nghèo?")
# topic → the few things households there ask, each in several wordings
QUESTIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "phuc-tra": (("khi nào ấp rà soát hộ nghèo năm nay", "bao giờ bình xét lại hộ nghèo"),
                 ("nhà tôi khó khăn sao không được vào danh sách hộ cận nghèo",
                  "vì sao gia đình tôi bị đưa ra khỏi danh sách hộ nghèo")),
    "y-te": (("khi nào được cấp thẻ bảo hiểm y tế", "thẻ BHYT năm nay bao giờ mới có",
              "bao giờ phát thẻ bảo hiểm y tế cho hộ nghèo"),
             ("đi khám bệnh tuyến huyện có được miễn viện phí không", "khám ở bệnh viện huyện có được miễn phí")),
    "giao-duc": (("con tôi học cấp hai có được miễn học phí không", "học sinh hộ nghèo có được miễn giảm học phí"),
                 ("xin hỗ trợ sách vở cho con đi học", "có hỗ trợ tiền mua sách vở cho học sinh nghèo không")),
    "nha-o": (("nhà tôi dột nát xin hỗ trợ làm nhà", "xin xét hỗ trợ xây nhà đại đoàn kết"),),
    "vay-ho-ngheo": (("thủ tục vay vốn hộ nghèo cần giấy tờ gì", "vay vốn hộ nghèo làm hồ sơ thế nào"),
                     ("mức vay tối đa cho hộ cận nghèo là bao nhiêu", "hộ cận nghèo được vay tối đa bao nhiêu tiền")),
    "vay-hoc-sinh": (("con tôi đậu đại học có được vay vốn sinh viên không", "thủ tục vay vốn học sinh sinh viên"),),
    "nuoc-sach": (("khi nào ấp có nước máy", "bao giờ kéo đường ống nước sạch về ấp"),),
    "chuong-trinh-mtqg": (("hộ nghèo được hỗ trợ con giống gì trong chương trình giảm nghèo",
                           "chương trình mục tiêu quốc gia hỗ trợ hộ nghèo những gì"),),
    "dao-tao-nghe": (("tôi muốn học nghề may công nghiệp có lớp miễn phí không", "có lớp học nghề may miễn phí không"),
                     ("học nghề sửa xe máy ở đâu", "muốn học nghề sửa xe máy thì đăng ký ở đâu")),
    "vay-viec-lam": (("vay vốn giải quyết việc làm để nuôi bò cần điều kiện gì",
                      "điều kiện vay vốn tạo việc làm để chăn nuôi"),),
    "xuat-khau-lao-dong": (("con tôi muốn đi làm việc ở Hàn Quốc thì vay vốn thế nào",
                            "thủ tục vay vốn đi xuất khẩu lao động Nhật Bản"),),
    "lao-dong-nuoc-ngoai": (("con tôi làm ở Đài Loan bị chủ nợ lương thì nhờ ai", "người đi lao động bị nợ lương"),),
    "khac": (("đường vào ấp lầy lội mùa mưa đề nghị sửa", "đề nghị xã sửa đường đất vào ấp"),
             ("xin lắp đèn đường ở ấp", "đề nghị lắp đèn chiếu sáng đường ấp")),
}
DETAILS = ("", " nhà tôi có 5 người", " con tôi năm nay 16 tuổi", " mẹ tôi già yếu", " năm 2023", " ở ấp Tân Hậu")


# ---- the data -----------------------------------------------------------------------------------------------------


def _name(rnd: random.Random) -> str:
    return f"{rnd.choice(FAMILY)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"


def _question(rnd: random.Random, topic: str) -> str:
    wording = rnd.choice(rnd.choice(QUESTIONS[topic]))
    if rnd.random() < 0.05:       # the long tail: something nobody else asks
        wording += f" {rnd.choice(DETAILS)} và {rnd.choice(rnd.choice(QUESTIONS[rnd.choice(list(QUESTIONS))]))}"
    text = rnd.choice(OPENERS) + wording + rnd.choice(DETAILS) + rnd.choice(CLOSERS)
    return text[0].upper() + text[1:]


def fill_database(path: Path, settings: Any, submissions: int, seed: int = 20230620) -> None:
    """Households (one in six sends several entries) and their submissions, by bulk SQL (the bench's own setup)."""
    from storage import Database

    asyncio.run(_seed(Database(path), settings))
    rnd = random.Random(seed)
    topic_field = {tp.id: f.id for f in settings.fields for tp in f.topics}
    hamlets = [h for h, weight in HAMLETS.items() for _ in range(weight)]
    start = datetime(2027, 6, 1, 1, 0, tzinfo=UTC)
    with sqlite3.connect(path) as conn:
        people = max(1, submissions * 5 // 6)
        conn.executemany(
            "INSERT INTO persons (id, created_at, language, consent_at, full_name, hamlet_id, category, phone)"
            " VALUES (?, ?, 'vi', ?, ?, ?, ?, ?)",
            [(i, start.isoformat(), start.isoformat(), _name(rnd), rnd.choice(hamlets), rnd.choice(CATEGORIES),
              f"09{rnd.randrange(10**8):08d}") for i in range(1, people + 1)])
        homes = dict(conn.execute("SELECT id, hamlet_id FROM persons"))
        rows = []
        for number in range(1, submissions + 1):
            person = rnd.randrange(1, people + 1)
            topic = rnd.choice(list(QUESTIONS))
            media = rnd.choice(("voice", "photo")) if rnd.random() < 0.03 else None
            rows.append((number, f"DT-{number:04d}", person, homes[person], rnd.choice(CATEGORIES), rnd.choice(KINDS),
                         topic_field[topic], topic, None if media else _question(rnd, topic), media,
                         f"file-{number}" if media else None, rnd.choice(STATUSES),
                         (start + timedelta(minutes=number % 20000)).isoformat()))
        conn.executemany(
            "INSERT INTO submissions (id, code, person_id, hamlet_id, category, kind, field_id, topic_id, content,"
            " media_kind, media_file_id, channel, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " 'telegram', ?, ?)", rows)


async def _seed(db: Any, settings: Any) -> None:
    from bot.dialogues.service import seed_from_config

    async with db:
        async with db.transaction() as conn:
            await seed_from_config(conn, settings, datetime(2027, 5, 1, tzinfo=UTC))


def load_settings_for(db_path: Path, config: Path = DEFAULT_CONFIG) -> Any:
    from bot.core.config import DatabaseSection, load_settings

    return load_settings(config).model_copy(update={"database": DatabaseSection(path=str(db_path))})


# ---- one job, in a child process ----------------------------------------------------------------------------------


def run_job(job: str, db_path: Path, out: Path) -> dict[str, Any]:
    settings = load_settings_for(db_path)
    started = time.perf_counter()
    if job.startswith("ours-"):
        from bot.reports.build import build_report
        from storage import Database

        async def ours() -> None:
            async with Database(db_path) as db:
                # with a progress callback, as `doithoai export` calls it: read and written in this process (the
                # bot's own reports go to its worker process instead, whose memory this child could not measure)
                await build_report(db, settings, DIALOGUE, now=datetime(2027, 6, 15, 3, tzinfo=UTC),
                                   folder=out.parent, formats=(job.removeprefix("ours-"),),
                                   targets={job.removeprefix("ours-"): out}, progress=lambda done, total: None)

        asyncio.run(ours())
    else:
        rows = asyncio.run(_read_rows(db_path))
        (_bare_xlsx if job == "bare-xlsx" else _bare_docx)(rows, out)
    seconds = time.perf_counter() - started
    return {"job": job, "seconds": seconds, "peak_rss_mb": peak_rss_mb(),
            "bytes": out.stat().st_size}


async def _read_rows(db_path: Path) -> list[Any]:
    from storage import Database
    from storage.reports import iter_rows

    rows = []
    async with Database(db_path) as db:
        async with db.reading() as conn:
            async for batch in iter_rows(conn, DIALOGUE):
                rows.extend(batch)
    return rows


def _bare_xlsx(rows: list[Any], out: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("rows")
    for r in rows:
        sheet.append([r.code, datetime.fromisoformat(r.created_at).replace(tzinfo=None), r.person_name, r.hamlet_id,
                      r.category, r.phone, r.kind, r.field_id, r.topic_id, "", r.content, r.media_kind, r.status,
                      r.answer])
    workbook.save(out)


def _bare_docx(rows: list[Any], out: Path) -> None:
    """One paragraph per row, each inserted before a last paragraph: ``Document.add_paragraph`` alone searches the
    body for its end every time and took over two minutes for 50,000 paragraphs (measured), which is no baseline."""
    from docx import Document

    document = Document()
    end = document.add_paragraph()
    for r in rows:
        end.insert_paragraph_before(f"{r.code} — {r.person_name} ({r.hamlet_id}) — {r.topic_id}: {r.content or ''}")
    document.save(out)


# ---- the benchmark --------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--submissions", type=int, default=50_000, help="how many submissions (default 50,000)")


def bench_export(args: argparse.Namespace) -> dict[str, Any]:
    count: int = getattr(args, "submissions", 50_000)
    with tempfile.TemporaryDirectory(prefix="doithoai-bench-export-") as tmp:
        folder = Path(tmp)
        db_path = folder / "bench.sqlite3"
        fill_database(db_path, load_settings_for(db_path), count)
        jobs = {job: _child(job, db_path, folder / f"{job}.{job.rsplit('-', 1)[1]}") for job in JOBS}
        checked = _check(folder, db_path)
    return _result(count, jobs, checked)


def _child(job: str, db_path: Path, out: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.export", "--job", job, "--db", str(db_path), "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise RuntimeError(f"{job} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _check(folder: Path, db_path: Path) -> dict[str, int]:
    """What the files hold: rows of the detail sheet, and the entries the Word report accounts for."""
    import re

    from docx import Document
    from openpyxl import load_workbook

    workbook = load_workbook(folder / "ours-xlsx.xlsx", read_only=True)
    detail_rows = sum(1 for _ in workbook.worksheets[1].iter_rows(values_only=True)) - 1
    workbook.close()
    text = "\n".join(p.text for p in Document(str(folder / "ours-docx.docx")).paragraphs)
    grouped = sum(int(n.replace(".", "")) for n in re.findall(r"\(([\d.]+) ý kiến;", text))
    with sqlite3.connect(db_path) as conn:
        expected = conn.execute("SELECT COUNT(*) FROM submissions WHERE status != 'withdrawn'").fetchone()[0]
    return {"expected": expected, "xlsx_rows": detail_rows, "docx_entries": grouped}


def _result(count: int, jobs: dict[str, dict[str, Any]], checked: dict[str, int]) -> dict[str, Any]:
    xlsx, docx = jobs["ours-xlsx"], jobs["ours-docx"]
    bare_xlsx, bare_docx = jobs["bare-xlsx"], jobs["bare-docx"]
    return {
        "submissions": count, "reported": checked["expected"],
        "xlsx_s": round(xlsx["seconds"], 2), "docx_s": round(docx["seconds"], 2),
        "bare_xlsx_s": round(bare_xlsx["seconds"], 2), "bare_docx_s": round(bare_docx["seconds"], 2),
        "xlsx_ratio": round(xlsx["seconds"] / bare_xlsx["seconds"], 2),
        "docx_ratio": round(docx["seconds"] / bare_docx["seconds"], 2),
        "xlsx_peak_rss_mb": round(xlsx["peak_rss_mb"], 1), "docx_peak_rss_mb": round(docx["peak_rss_mb"], 1),
        "bare_xlsx_peak_rss_mb": round(bare_xlsx["peak_rss_mb"], 1),
        "bare_docx_peak_rss_mb": round(bare_docx["peak_rss_mb"], 1),
        "peak_rss_mb": round(max(xlsx["peak_rss_mb"], docx["peak_rss_mb"]), 1),
        "xlsx_mb": round(xlsx["bytes"] / 2**20, 2), "docx_mb": round(docx["bytes"] / 2**20, 2),
        "goals": GOALS,
        "work_done": checked["xlsx_rows"] == checked["expected"] == checked["docx_entries"],
    }


def report(result: dict[str, Any]) -> str:
    return "\n".join([
        f"export: {result['submissions']:,} submissions ({result['reported']:,} reported, the rest withdrawn)",
        f"  XLSX  {result['xlsx_s']:.2f} s  peak {result['xlsx_peak_rss_mb']:.0f} MB  {result['xlsx_mb']:.1f} MB"
        f"   bare openpyxl {result['bare_xlsx_s']:.2f} s  ratio {result['xlsx_ratio']:.2f}",
        f"  DOCX  {result['docx_s']:.2f} s  peak {result['docx_peak_rss_mb']:.0f} MB  {result['docx_mb']:.1f} MB"
        f"   bare python-docx {result['bare_docx_s']:.2f} s  ratio {result['docx_ratio']:.2f}",
        f"  goals: XLSX ≤ {GOALS['xlsx_seconds']:.0f} s, DOCX ≤ {GOALS['docx_seconds']:.0f} s,"
        f" ≤ {GOALS['peak_rss_mb']:.0f} MB, ratio ≤ {GOALS['ratio']:.0f};"
        f" every entry accounted for: {'yes' if result['work_done'] else 'NO'}",
    ])


def _child_main() -> None:
    parser = argparse.ArgumentParser(description="one export job (run by python -m bench export)")
    parser.add_argument("--job", choices=JOBS, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps(run_job(args.job, args.db, args.out)))


if __name__ == "__main__":
    _child_main()
