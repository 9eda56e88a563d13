from django.core.management.base import BaseCommand

from sms import worker


class Command(BaseCommand):
    help = "发送短信发件箱中到期的短信（按退避规则重试）。--once 发送一轮后退出。"

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="只发送当前到期的短信，然后退出")

    def handle(self, *args, once=False, **options):
        if once:
            self.stdout.write(f"已处理 {worker.drain()} 条短信。")
            return
        self.stdout.write("短信发送进程已启动（Ctrl-C 停止）。")
        worker.run_forever()
