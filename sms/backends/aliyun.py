"""阿里云短信 (Dysmsapi 2017-05-25, SendSms) through alibabacloud-dysmsapi20170525."""

import json
import os

from .base import Delivery, DeliveryError, SmsBackend, template_id

# Business answers that a later try cannot fix (a bad number, a template or sign not approved, …).
FINAL_CODES = {
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.INVALID_PARAMETERS",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.DENY_IP_RANGE",
    "isv.AMOUNT_NOT_ENOUGH",
    "isv.ACCOUNT_ABNORMAL",
    "InvalidAccessKeyId.NotFound",
    "SignatureDoesNotMatch",
}


class AliyunBackend(SmsBackend):
    """Environment: ALIYUN_SMS_ACCESS_KEY_ID, ALIYUN_SMS_ACCESS_KEY_SECRET, SMS_SIGN_NAME, SMS_TEMPLATE_<NAME>;
    ALIYUN_SMS_ENDPOINT (default dysmsapi.aliyuncs.com) and ALIYUN_SMS_PROTOCOL (https) for a stand-in."""

    name = "aliyun"

    def __init__(self):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi import models as openapi_models

        self.client = Client(
            openapi_models.Config(
                access_key_id=os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID", ""),
                access_key_secret=os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
                endpoint=os.environ.get("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com"),
                protocol=os.environ.get("ALIYUN_SMS_PROTOCOL", "https"),
            )
        )

    def send(self, *, phone: str, template: str, params: dict, text: str) -> Delivery:
        from alibabacloud_dysmsapi20170525 import models as sms_models
        from alibabacloud_tea_util import models as util_models

        request = sms_models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=os.environ.get("SMS_SIGN_NAME", "政务通"),
            template_code=template_id(template),
            template_param=json.dumps(params, ensure_ascii=False) if params else None,
        )
        runtime = util_models.RuntimeOptions(connect_timeout=5000, read_timeout=10000, autoretry=False)
        try:
            body = self.client.send_sms_with_options(request, runtime).body
        except Exception as error:  # the SDK's TeaException, or a network error: try again later
            code = getattr(error, "code", "") or type(error).__name__
            message = getattr(error, "message", "") or str(error)
            raise DeliveryError(f"{code}: {message}"[:500], retry=code not in FINAL_CODES) from error
        answer = f"{body.code}: {body.message}"
        if body.code != "OK":
            raise DeliveryError(answer, retry=body.code not in FINAL_CODES)
        return Delivery(provider_id=body.biz_id or "", answer=answer)
