"""The desk's bookkeeping (static/js/desk-model.js), run in node: unread counts, history gaps, limits."""

import json
import shutil
import subprocess
from pathlib import Path

from tests.services import missing

MODEL = Path(__file__).resolve().parents[2] / "static" / "js" / "desk-model.js"
NODE = shutil.which("node") or shutil.which("nodejs")


def run(script: str):
    """Run script with the model's exports in scope as `m`; return what it prints as JSON."""
    if NODE is None:
        missing("node is not installed (apt-get install nodejs)")
    program = f"import * as m from {json.dumps(MODEL.as_uri())};\n{script}"
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", program], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(done.stdout)


def conv(id, status="active", officer=7, window=1, **extra):
    return {
        "id": id,
        "status": status,
        "officer": officer,
        "window": window,
        "queued_at": f"2026-01-01T08:0{id}:00+08:00",
        **extra,
    }


SETUP = f"""
const me = 7;
let s = m.applySnapshot(m.emptyState(), {{
  queue: [{json.dumps(conv(1, "queued", None))}],
  chats: [{json.dumps(conv(2, unread=3))}, {json.dumps(conv(3, unread=2))}],
  backlog: [{json.dumps(conv(4, "offline", None))}],
  closed: [], windows: [{{id: 1, max_concurrent_chats: 2}}], canned_replies: [],
}});
"""


def test_tab_count_is_the_sum_of_the_badges_and_reading_a_chat_lowers_it_by_its_own_count():
    out = run(
        SETUP
        + """
const start = m.unreadTotal(s);
m.countIncoming(s, 1, {looking: false});      // a follow-up in the queue
m.countIncoming(s, 4, {looking: false});      // and one on an offline question
m.countIncoming(s, 2, {looking: true});       // the open chat: read as it arrives
const afterIncoming = m.unreadTotal(s);
const badges = [...s.queue, ...s.chats, ...s.backlog].reduce((n, c) => n + (c.unread || 0), 0);
const had = m.markSeen(s, 3);
console.log(JSON.stringify({start, afterIncoming, badges, had, afterRead: m.unreadTotal(s)}));
"""
    )
    assert out == {"start": 5, "afterIncoming": 7, "badges": 7, "had": 2, "afterRead": 5}


def test_a_fresh_snapshot_keeps_the_counts_only_the_desk_knows():
    out = run(
        SETUP
        + """
m.countIncoming(s, 1, {looking: false});
s = m.applySnapshot(s, {queue: [{id: 1, status: "queued", window: 1}], chats: [{id: 2, status: "active", officer: 7, unread: 0}], backlog: [], closed: []});
console.log(JSON.stringify({queue: s.queue[0].unread, chat: s.chats[0].unread, total: m.unreadTotal(s)}));
"""
    )
    assert out == {"queue": 1, "chat": 0, "total": 1}


def test_an_ended_chat_moves_to_todays_list_and_stops_counting():
    out = run(
        SETUP
        + """
const moved = m.applyConversation(s, {id: 2, status: "closed", officer: 7, window: 1, closed_at: "2026-01-01T09:00:00+08:00"}, me);
const other = m.applyConversation(s, {id: 1, status: "active", officer: 8, window: 1}, me);
const arrived = m.applyConversation(s, {id: 9, status: "queued", officer: null, window: 1, queued_at: "2026-01-01T07:00:00+08:00"}, me);
console.log(JSON.stringify({moved, other, arrived, closed: s.closed.map(c => c.id), queue: s.queue.map(c => c.id), total: m.unreadTotal(s)}));
"""
    )
    assert out["moved"] == {"list": "closed", "isNew": False}
    assert out["other"] == {"list": None, "isNew": False}
    assert out["arrived"] == {"list": "queue", "isNew": True}
    assert out["closed"] == [2] and out["queue"] == [9]
    assert out["total"] == 2


def test_history_resumes_from_the_first_gap_not_from_a_live_line_that_came_first():
    out = run(
        """
console.log(JSON.stringify([
  m.loadedThrough(new Map()),
  m.loadedThrough(new Map([[5, {}]])),
  m.loadedThrough(new Map([[1, {}], [2, {}], [4, {}]])),
  m.loadedThrough(undefined),
]));
"""
    )
    assert out == [0, 0, 2, 0]


def test_take_next_at_the_limit_names_the_limit():
    out = run(
        SETUP
        + """
const atLimit = m.limitReached(s);
s.chats.pop();
console.log(JSON.stringify({atLimit, withRoom: m.limitReached(s)}));
"""
    )
    assert out == {"atLimit": "已达到同时接待上限（2）", "withRoom": ""}


def test_a_first_question_that_arrives_before_its_conversation_still_counts():
    out = run(
        SETUP
        + """
m.countIncoming(s, 9, {looking: false});
const before = m.unreadTotal(s);
m.applyConversation(s, {id: 9, status: "queued", officer: null, window: 1, queued_at: "2026-01-01T07:00:00+08:00"}, me);
console.log(JSON.stringify({before, badge: s.queue.find(c => c.id === 9).unread, after: m.unreadTotal(s)}));
"""
    )
    assert out == {"before": 5, "badge": 1, "after": 6}


def test_a_question_auto_assigned_to_this_officer_keeps_its_unread_count():
    out = run(
        SETUP
        + """
m.countIncoming(s, 9, {looking: false});
m.applyConversation(s, {id: 9, status: "queued", officer: null, window: 1}, me);
m.removeTaken(s, 9, me);
const between = m.unreadTotal(s);
m.applyConversation(s, {id: 9, status: "active", officer: me, window: 1}, me);
console.log(JSON.stringify({between, badge: s.chats.find(c => c.id === 9).unread, after: m.unreadTotal(s)}));
"""
    )
    assert out == {"between": 5, "badge": 1, "after": 6}


def test_a_chat_transferred_in_and_assigned_at_once_keeps_its_transfer_note():
    out = run(
        SETUP
        + """
m.applyConversation(s, {id: 9, status: "queued", officer: null, window: 1, transfer_note: "由 甲（张三）转来：请接办"}, me);
m.removeTaken(s, 9, me);
m.applyConversation(s, {id: 9, status: "active", officer: me, window: 1}, me);
console.log(JSON.stringify({note: s.chats.find(c => c.id === 9).transfer_note}));
"""
    )
    assert out == {"note": "由 甲（张三）转来：请接办"}


def test_the_citizen_leaving_the_page_changes_the_item_once():
    out = run(
        SETUP
        + """
const first = m.setCitizenOnline(s, 2, false) !== null;
const again = m.setCitizenOnline(s, 2, false) !== null;
const unknown = m.setCitizenOnline(s, 99, true);
console.log(JSON.stringify({first, again, unknown, shown: s.chats.find(c => c.id === 2).citizen_online}));
"""
    )
    assert out == {"first": True, "again": False, "unknown": None, "shown": False}


def test_a_chat_transferred_away_leaves_the_officers_own_chats():
    out = run(
        SETUP
        + """
m.removeTaken(s, 2, me);                 // taken by this officer: it stays
const kept = s.chats.map(c => c.id);
m.removeTaken(s, 2, me, {left: true});   // transferred to another window: it goes
console.log(JSON.stringify({kept, after: s.chats.map(c => c.id)}));
"""
    )
    assert out == {"kept": [2, 3], "after": [3]}


def test_a_queue_list_replaces_the_windows_queue_keeps_the_desks_counts_and_counts_those_past_100():
    out = run(
        f"""
const me = 7;
let s = m.applySnapshot(m.emptyState(), {{
  queue: [{json.dumps(conv(1, "queued", None))}, {json.dumps(conv(2, "queued", None))},
          {json.dumps(conv(9, "queued", None, window=2))}],
  chats: [], backlog: [], closed: [],
}});
m.countIncoming(s, 2, {{looking: false}});          // a follow-up while it waits: the desk's own count
// The desk missed events: 1 was taken elsewhere, 3 and 4 arrived; 150 wait at window 1 in all.
const added = m.applyQueueList(s, {{window: 1, waiting: 150, queue: [
  {json.dumps(conv(2, "queued", None))}, {json.dumps(conv(3, "queued", None))}, {json.dumps(conv(4, "queued", None))}]}});
console.log(JSON.stringify({{added, queue: s.queue.map(c => c.id), unread: s.queue.find(c => c.id === 2).unread,
                            total: m.waitingTotal(s)}}));
"""
    )
    assert out["added"] == 2
    assert out["queue"] == [2, 3, 4, 9]  # window 2's list untouched, in waiting order
    assert out["unread"] == 1
    assert out["total"] == 151  # 150 at window 1 (3 listed) and 1 at window 2
