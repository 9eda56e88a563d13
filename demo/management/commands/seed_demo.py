"""Load the demo data: calendar, the pilot's departments and windows, demo accounts, canned replies.

Idempotent: rows are keyed on natural keys (department name, department and window name,
username, window and reply title), so a second run changes nothing. Passwords are set only when
an account is created, so a demo user who changed theirs keeps it. The FAQ demo content
(faq/fixtures/faq_demo.jsonl) is imported published, only the entries whose key is not in the
database yet, so entries edited or withdrawn by a curator stay as they are. Their sentence vectors
come from faq/fixtures/faq_demo_vectors.npz (demo/faq_vectors.py); the model embeds only texts the
file lacks.
"""

import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from chat.models import CannedReply
from demo import demo_data, faq_vectors
from demo.history import generate_history
from departments.actions import seed_calendar_from_package
from departments.models import CalendarDay, CalendarYear, Department, Level, Window
from faq.actions import FaqError, import_entries
from faq.engine import embedder as embedding
from faq.importing import ImportProblems, read_records
from faq.models import Entry
from portal.actions import create_staff_user, make_supervisor_member, mark_demo_accounts, register_citizen
from portal.models import Role, User

FAQ_DEMO_FILE = faq_vectors.FAQ_DEMO_FILE


class Command(BaseCommand):
    help = "载入演示数据：工作日历、16 个省级部门及其窗口、演示账号、常用回复和常见问题（可重复运行）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--history-days", type=int, default=0, help="另外生成最近 N 天的历史会话与在线记录（用于考核报表演示）"
        )
        parser.add_argument("--scale", type=int, default=1, help="历史数据的规模倍数（1 = 2005 年试点的规模）")
        parser.add_argument("--force", action="store_true", help="在 DEBUG=0（生产配置）下也载入演示账号")

    def handle(self, *args, history_days, scale, **options):
        if history_days < 0 or scale < 1:
            raise CommandError("--history-days 不能为负数，--scale 至少为 1")
        if not settings.DEBUG and not options.get("force"):
            raise CommandError(
                "DEBUG=0：这是生产配置，演示账号的密码是公开的。确需载入请加 --force，并在上线前修改或停用演示账号。"
            )
        years = seed_calendar_from_package()
        self.stdout.write(f"工作日历：新载入 {len(years)} 个年份，共 {CalendarYear.objects.count()} 个年份已录入")

        with transaction.atomic():
            windows = self.seed_departments()
            self.seed_staff()
            officers = self.seed_officers(windows)
            citizens = self.seed_citizens()
            replies = self.seed_canned_replies(windows)
            # Marked, so that `check --deploy` finds them while they keep the published password.
            staff = User.objects.filter(username__in=[demo_data.ADMIN["username"], demo_data.SUPERVISOR["username"]])
            mark_demo_accounts(users=[*staff, *officers, *citizens])

        self.stdout.write(
            f"部门 {Department.objects.count()} 个，窗口 {Window.objects.count()} 个，"
            f"值班人员 {len(officers)} 名，市民 {len(citizens)} 名，常用回复 {replies} 条，"
            f"节假日与调休 {CalendarDay.objects.count()} 天"
        )
        self.seed_faq(verbosity=options.get("verbosity", 1))
        self.stdout.write(self.style.SUCCESS(f"演示数据已就绪。演示账号的初始密码：{demo_data.DEMO_PASSWORD}"))

        if history_days:
            self.generate_history(history_days, scale)

    def seed_faq(self, *, verbosity: int = 1) -> None:
        """Import the FAQ demo entries not in the database yet, published, with their precomputed vectors."""
        try:
            records = read_records(FAQ_DEMO_FILE.read_text(encoding="utf-8").splitlines())
        except OSError as error:
            raise CommandError(f"无法读取常见问题演示文件 {FAQ_DEMO_FILE}：{error.strerror}") from None
        except ImportProblems as problems:
            raise CommandError(f"常见问题演示文件有误，未导入：\n{problems}") from None
        known = set(Entry.objects.filter(key__in=[r.key for r in records]).values_list("key", flat=True))
        missing = [record for record in records if record.key not in known]
        if missing:
            # Batches embed in parallel across texts: use every core, as faq_import does.
            os.environ.setdefault("FAQ_EMBEDDING_THREADS", str(os.cpu_count() or 1))
            self.stdout.write(f"常见问题：导入演示内容 {len(missing)} 条…")
            model = embedding.get_embedder()
            computed = model.computed if model else 0
            with tqdm(total=len(missing), desc="常见问题", unit="条", disable=verbosity == 0) as bar:
                try:
                    with embedding.precomputed(faq_vectors.load()):
                        import_entries(records=missing, published=True, progress=bar.update)
                except FaqError as error:
                    raise CommandError(f"常见问题演示内容未导入：{error.message}") from None
            if model and model.computed > computed:
                self.stdout.write(
                    f"有 {model.computed - computed} 段文本不在 {faq_vectors.FAQ_DEMO_VECTORS.name} 中，已现算向量"
                    "（manage.py demo_faq_vectors 可更新该文件）"
                )
        self.stdout.write(
            f"常见问题 {Entry.objects.count()} 条，已发布 {Entry.objects.filter(is_published=True).count()} 条"
            f"（演示内容新增 {len(missing)} 条）"
        )

    def seed_departments(self) -> dict[tuple[str, str], tuple[Window, dict]]:
        """Create or update every demo department and window; return windows by (department, window) name."""
        windows = {}
        for entry in demo_data.DEPARTMENTS + demo_data.CITY_DEPARTMENTS:
            parent = Department.objects.get(name=entry["parent"]) if entry.get("parent") else None
            department, _ = Department.objects.update_or_create(
                name=entry["name"],
                defaults={
                    "short_name": entry["short_name"],
                    "level": entry.get("level", Level.PROVINCE),
                    "parent": parent,
                    "contact_phone": entry["contact_phone"],
                    "address": entry["address"],
                    "website": entry["website"],
                    "ordering": entry["ordering"],
                },
            )
            for position, window_entry in enumerate(entry["windows"], start=1):
                window, _ = Window.objects.update_or_create(
                    department=department,
                    name=window_entry["name"],
                    defaults={
                        "duty_statement": window_entry["duty_statement"],
                        "accepts": "\n".join(window_entry["accepts"]),
                        "does_not_accept": "\n".join(window_entry["does_not_accept"]),
                        "ordering": position * 10,
                    },
                )
                username = f"{entry['code']}_{window_entry['code']}"
                windows[(entry["name"], window_entry["name"])] = (window, {**window_entry, "username": username})
        return windows

    def seed_staff(self) -> None:
        admin = self.ensure_staff(demo_data.ADMIN["username"], Role.ADMIN, demo_data.ADMIN["display_name"])
        self.ensure_fields(admin, is_staff=True, is_superuser=True)
        supervisor = self.ensure_staff(
            demo_data.SUPERVISOR["username"], Role.SUPERVISOR, demo_data.SUPERVISOR["display_name"]
        )
        self.ensure_fields(supervisor, is_staff=True, is_superuser=False)
        make_supervisor_member(user=supervisor)

    def seed_officers(self, windows) -> list[User]:
        officers = []
        for window, entry in windows.values():
            officer = self.ensure_staff(entry["username"], Role.OFFICER, f"值班员 {entry['officer']}")
            window.officers.add(officer)
            officers.append(officer)
        return officers

    def seed_citizens(self) -> list[User]:
        citizens = []
        for phone in demo_data.CITIZEN_PHONES:
            citizen = User.objects.filter(username=phone).first()
            if citizen is None:
                citizen = register_citizen(phone=phone, password=demo_data.DEMO_PASSWORD)
            citizens.append(citizen)
        return citizens

    def seed_canned_replies(self, windows) -> int:
        for entry in demo_data.CANNED_REPLIES:
            window = windows[(entry["department"], entry["window"])][0] if entry["window"] else None
            CannedReply.objects.update_or_create(
                window=window, title=entry["title"], defaults={"body": entry["body"], "ordering": entry["ordering"]}
            )
        return len(demo_data.CANNED_REPLIES)

    def ensure_staff(self, username: str, role: str, display_name: str) -> User:
        """Return the demo account, creating it with the demo password; keep its role and name current."""
        user = User.objects.filter(username=username).first()
        if user is None:
            return create_staff_user(
                username=username, password=demo_data.DEMO_PASSWORD, role=role, display_name=display_name
            )
        self.ensure_fields(user, role=role, display_name=display_name)
        return user

    def ensure_fields(self, user: User, **values) -> None:
        """Save the given values on the user if they differ, leaving every other field alone."""
        changed = [field for field, value in values.items() if getattr(user, field) != value]
        for field in changed:
            setattr(user, field, values[field])
        if changed:
            user.save(update_fields=changed)

    def generate_history(self, days: int, scale: int) -> None:
        generate_history(days=days, scale=scale, stdout=self.stdout)
