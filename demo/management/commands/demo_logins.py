"""Print the demo logins as a small table: role, username, password and the page to open."""

from django.core.management.base import BaseCommand

from demo import demo_data
from portal.models import User

START_PAGES = {"admin": "/admin/", "supervisor": "/admin/", "officer": "/desk/", "citizen": "/"}


class Command(BaseCommand):
    help = "列出演示账号（角色、用户名、密码、登录后打开的页面）。"

    def handle(self, *args, **options):
        usernames = (
            [demo_data.ADMIN["username"], demo_data.SUPERVISOR["username"]]
            + demo_data.FEATURED_OFFICERS
            + demo_data.CITIZEN_PHONES
        )
        users = {user.username: user for user in User.objects.filter(username__in=usernames)}
        if not users:
            self.stdout.write("尚未载入演示数据，请先运行：python manage.py seed_demo")
            return
        rows = [("角色", "用户名", "密码", "打开", "说明")]
        for username in usernames:
            user = users.get(username)
            if user is None:
                continue
            note = "" if user.is_citizen else str(user)
            if user.is_officer:
                note = f"{user} · {'、'.join(str(window) for window in user.windows.all())}"
            rows.append((user.get_role_display(), username, demo_data.DEMO_PASSWORD, START_PAGES[user.role], note))
        self.stdout.write("演示账号（密码为初始密码，用户自己改过的以修改后的为准）：")
        self.stdout.write(_table(rows))
        officer_total = User.objects.filter(role="officer", windows__isnull=False).distinct().count()
        self.stdout.write(
            f"每个窗口各有一名值班人员（共 {officer_total} 名），用户名为“部门_窗口”的拼音，如 gongan_huji；"
            "完整名单见后台“用户”，按角色筛选。"
        )


def _width(text: str) -> int:
    # Chinese characters take two columns in a terminal.
    return sum(2 if ord(char) > 0x2E7F else 1 for char in text)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(_width(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell + " " * (width - _width(cell)) for cell, width in zip(row, widths)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)
