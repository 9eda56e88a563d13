"""腾讯云短信 (SMS 2021-01-11, SendSms) through tencentcloud-sdk-python-sms."""

import os

from ..texts import PARAMS
from .base import Delivery, DeliveryError, SmsBackend, template_id

# Answers that a later try cannot fix.
FINAL_CODES = {
    "FailedOperation.PhoneNumberInBlacklist",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.InsufficientBalanceInSmsPackage",
    "InvalidParameterValue.IncorrectPhoneNumber",
    "InvalidParameterValue.TemplateParameterFormatError",
    "InvalidParameterValue.TemplateParameterLengthLimit",
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.SignatureFailure",
}


class TencentBackend(SmsBackend):
    """Environment: TENCENT_SMS_SECRET_ID, TENCENT_SMS_SECRET_KEY, TENCENT_SMS_APP_ID, SMS_SIGN_NAME,
    SMS_TEMPLATE_<NAME>; TENCENT_SMS_REGION (ap-guangzhou), TENCENT_SMS_ENDPOINT (sms.tencentcloudapi.com)
    and TENCENT_SMS_SCHEME (https) for a stand-in."""

    name = "tencent"

    def __init__(self):
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.sms.v20210111 import sms_client

        http = HttpProfile(endpoint=os.environ.get("TENCENT_SMS_ENDPOINT", "sms.tencentcloudapi.com"), reqTimeout=10)
        http.scheme = os.environ.get("TENCENT_SMS_SCHEME", "https")
        self.client = sms_client.SmsClient(
            credential.Credential(
                os.environ.get("TENCENT_SMS_SECRET_ID", ""), os.environ.get("TENCENT_SMS_SECRET_KEY", "")
            ),
            os.environ.get("TENCENT_SMS_REGION", "ap-guangzhou"),
            ClientProfile(httpProfile=http),
        )

    def send(self, *, phone: str, template: str, params: dict, text: str) -> Delivery:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
        from tencentcloud.sms.v20210111 import models

        request = models.SendSmsRequest()
        request.PhoneNumberSet = [f"+86{phone}"]
        request.SmsSdkAppId = os.environ.get("TENCENT_SMS_APP_ID", "")
        request.SignName = os.environ.get("SMS_SIGN_NAME", "政务通")
        request.TemplateId = template_id(template)
        request.TemplateParamSet = [str(params[name]) for name in PARAMS[template]]
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as error:
            code = error.get_code() or "ClientError"
            raise DeliveryError(f"{code}: {error.get_message()}"[:500], retry=code not in FINAL_CODES) from error
        except Exception as error:  # network errors, a proxy's HTML page: try again later
            raise DeliveryError(f"{type(error).__name__}: {error}"[:500], retry=True) from error
        status = response.SendStatusSet[0] if response.SendStatusSet else None
        if status is None:
            raise DeliveryError(f"空答复 RequestId={response.RequestId}", retry=True)
        answer = f"{status.Code}: {status.Message}"
        if status.Code != "Ok":
            raise DeliveryError(answer, retry=status.Code not in FINAL_CODES)
        return Delivery(provider_id=status.SerialNo or "", answer=answer)
