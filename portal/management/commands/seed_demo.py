"""Load the demo data: calendar, the pilot's departments and windows, demo accounts, canned replies.

Idempotent: rows are keyed on natural keys (department name, department and window name,
username, window and reply title), so a second run changes nothing. Passwords are set only when
an account is created, so a demo user who changed theirs keeps it.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from chat.models import CannedReply
from departments import demo_data
from departments.actions import seed_calendar_from_package
from departments.models import CalendarDay, CalendarYear, Department, Level, Window
from portal.actions import create_staff_user, make_supervisor_member, register_citizen
from portal.models import Role, User

class Command(BaseCommand):
    help = "载入演示数据：工作日历、16 个省级部门及其窗口、演示账号和常用回复（可重复运行）。"

    def add_arguments(self, parser):
        parser.add_argument(
            "--history-days", type=int, default=0, help="另外生成最近 N 天的历史会话与在线记录（用于考核报表演示）"
        )
        parser.add_argument("--scale", type=int, default=1, help="历史数据的规模倍数（1 = 2005 年试点的规模）")

    def handle(self, *args, history_days, scale, **options):
        if history_days < 0 or scale < 1:
            raise CommandError("--history-days 不能为负数，--scale 至少为 1")
        years = seed_calendar_from_package()
        self.stdout.write(f"工作日历：新载入 {len(years)} 个年份，共 {CalendarYear.objects.count()} 个年份已录入")

        with transaction.atomic():
            windows = self.seed_departments()
            self.seed_staff()
            officers = self.seed_officers(windows)
            citizens = self.seed_citizens()
            replies = self.seed_canned_replies(windows)

        self.stdout.write(
            f"部门 {Department.objects.count()} 个，窗口 {Window.objects.count()} 个，"
            f"值班人员 {len(officers)} 名，市民 {len(citizens)} 名，常用回复 {replies} 条，"
            f"节假日与调休 {CalendarDay.objects.count()} 天"
        )
        self.stdout.write(self.style.SUCCESS(f"演示数据已就绪。演示账号的初始密码：{demo_data.DEMO_PASSWORD}"))

        if history_days:
            self.generate_history(history_days, scale)

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
        try:
            from oversight.history import generate_history
        except ImportError as error:
            self.stderr.write(
                self.style.WARNING(
                    f"无法载入历史数据生成器 oversight.history（{error}），已跳过 --history-days；其余演示数据已载入。"
                )
            )
            return
        generate_history(days=days, scale=scale, stdout=self.stdout)
