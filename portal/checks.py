"""System checks of the deployment (`manage.py check --deploy`)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import Error, Tags, register
from django.db import DatabaseError

from infra.second_factor import DEMO_GROUP


@register(Tags.security, deploy=True)
def demo_password_check(app_configs, **kwargs):
    """Fail while an account seeded by the demo still has the published demo password."""
    try:
        accounts = list(get_user_model().objects.filter(groups__name=DEMO_GROUP, is_active=True))
        weak = [user.username for user in accounts if user.check_password(settings.DEMO_PASSWORD)]
    except DatabaseError:  # no database yet (a check before migrate): nothing to find
        return []
    if not weak:
        return []
    shown = "、".join(weak[:10]) + (" 等" if len(weak) > 10 else "")
    return [
        Error(
            f"{len(weak)} 个演示账号仍在使用公开的演示密码：{shown}。",
            hint="上线前请修改这些账号的密码或停用它们（后台 › 用户），演示账号不应出现在生产环境。",
            id="portal.E001",
        )
    ]
