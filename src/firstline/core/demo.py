"""Demo data for `make run`: a small MSP with three client organizations.

Every ticket is written through the services, each call at the moment it "happened" (see
`core.clock`), so queues, timestamps and ticket histories look like those of a real desk.
Times are relative to now; with the fixed seeds, the same moment gives the same data.
"""

import math
import random
import time as timer
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import transaction

from firstline.accounts import services as accounts
from firstline.accounts.models import Group, Organization, Role, User
from firstline.core import clock
from firstline.kb.demo import create_demo_articles
from firstline.tickets import services as tickets
from firstline.tickets.models import Category, Channel, Priority, Ticket

DEMO_PASSWORD = "firstline-demo"

SEED = 1042
TICKET_COUNT = 200
DAYS = 60
WEB = Channel.WEB


# --- The help desk: organizations, groups, people, categories ---------------------------


@dataclass(frozen=True)
class Org:
    """A client organization; its time zone sets the hours its people work and write in."""

    slug: str
    name: str
    tz: ZoneInfo
    asset_prefix: str
    weight: float  # share of the tickets


ORGS = (
    Org("acme", "Acme Manufacturing", ZoneInfo("Europe/London"), "ACME", 0.40),
    Org("globex", "Globex Logistics", ZoneInfo("Europe/Amsterdam"), "GLX", 0.30),
    Org("huaxun", "上海华讯科技", ZoneInfo("Asia/Shanghai"), "HX", 0.30),
)
ORG_BY_SLUG = {org.slug: org for org in ORGS}

# (slug, name, tier, description, organizations served: empty means all)
GROUPS = (
    ("service-desk", "Service Desk", 1, "First line: every new request lands here.", ()),
    ("desktop-network", "Desktop & Network", 2, "Second line: devices, printers, network.", ()),
    ("infrastructure", "Infrastructure", 3, "Third line: servers, firewalls, security.", ()),
    (
        "shanghai-onsite",
        "Shanghai On-site",
        2,
        "Outsourced on-site technicians who serve 上海华讯科技 only.",
        ("huaxun",),
    ),
)

LONDON = "Europe/London"
SHANGHAI = "Asia/Shanghai"


@dataclass(frozen=True)
class Person:
    """Someone at the MSP or at a client; `lang` is the language they write tickets in."""

    username: str
    first: str  # Chinese names go whole in `first` so that display names read right
    last: str
    role: str
    tz: str
    lang: str = "en"
    org: str | None = None
    groups: tuple[str, ...] = ()
    manager: bool = False
    login: bool = True  # listed among the demo logins

    @property
    def email(self) -> str:
        return f"{self.username}@{self.org or 'desk'}.example.com"


A, R = Role.AGENT, Role.REQUESTER
PEOPLE = (
    Person("admin", "Alex", "Morgan", Role.ADMIN, LONDON),
    Person("supervisor", "Maria", "Santos", Role.SUPERVISOR, LONDON),
    Person("agent.li", "李明", "", A, SHANGHAI, "zh", groups=("service-desk",)),
    Person("agent.jones", "Emily", "Jones", A, LONDON, groups=("service-desk",)),
    Person("agent.okafor", "Daniel", "Okafor", A, LONDON, groups=("service-desk",)),
    Person(
        "agent.zhang",
        "张伟",
        "",
        A,
        SHANGHAI,
        "zh",
        groups=("service-desk", "desktop-network", "shanghai-onsite"),
    ),
    Person("agent.novak", "Tomas", "Novak", A, LONDON, groups=("desktop-network",)),
    Person("agent.patel", "Ravi", "Patel", A, LONDON, groups=("desktop-network", "infrastructure")),
    Person("agent.schmidt", "Jonas", "Schmidt", A, LONDON, groups=("infrastructure",)),
    Person("agent.chen", "陈晓", "", A, SHANGHAI, "zh", groups=("shanghai-onsite",)),
    Person("karen.hughes", "Karen", "Hughes", R, LONDON, org="acme", manager=True),
    Person("tom.baker", "Tom", "Baker", R, LONDON, org="acme"),
    Person("priya.shah", "Priya", "Shah", R, LONDON, org="acme", login=False),
    Person("mike.oconnor", "Mike", "O'Connor", R, LONDON, org="acme", login=False),
    Person("sanne.devries", "Sanne", "de Vries", R, "Europe/Amsterdam", org="globex", manager=True),
    Person("pieter.jansen", "Pieter", "Jansen", R, "Europe/Amsterdam", org="globex"),
    Person("lotte.bakker", "Lotte", "Bakker", R, "Europe/Amsterdam", org="globex", login=False),
    Person("omar.haddad", "Omar", "Haddad", R, "Europe/Amsterdam", org="globex", login=False),
    Person("liu.yang", "刘洋", "", R, SHANGHAI, "zh", org="huaxun", manager=True),
    Person("wang.fang", "王芳", "", R, SHANGHAI, "zh", org="huaxun"),
    Person("zhao.lei", "赵磊", "", R, SHANGHAI, "zh", org="huaxun", login=False),
    Person("kevin.zhou", "Kevin", "Zhou", R, SHANGHAI, org="huaxun", login=False),
)

CATEGORIES = {
    "Hardware": ("Laptop", "Desktop", "Printer", "Monitor", "Meeting room"),
    "Software": ("Office", "Install request", "Business apps"),
    "Network": ("VPN", "Wi-Fi", "Internet", "Shared drive"),
    "Accounts": ("Password reset", "MFA", "Access request", "New starter", "Leaver"),
    "E-mail": ("Mobile setup", "Mailbox"),
    "Security": ("Phishing", "Malware"),
    "Infrastructure": ("Servers", "Backup"),
}


# --- What people ask for: issue templates with their whole conversation -----------------


@dataclass(frozen=True)
class Issue:
    """One kind of request and the conversation it usually takes; `{name}`s are filled in."""

    key: str
    category: str
    subjects: tuple[str, ...]
    description: str
    solution: str
    priority: str = "normal"
    weight: float = 1.0
    tags: tuple[str, ...] = ()
    reply: str = ""  # the first response; a generic one when empty
    ask: str = ""  # a question that leaves the ticket pending on the requester
    answer: str = ""  # the requester's answer to it
    note: str = ""  # an internal note
    escalate: tuple[int, str] | None = None  # (tier, reason)
    hold: str = ""  # what it waits for when on hold
    quick: bool = False  # solved within the hour, like a password reset
    api: bool = False  # sent by the customer's HR system through the API


EN_ISSUES = (
    Issue(
        "password",
        "Accounts > Password reset",
        (
            "Locked out of my account",
            "Password expired, can't log in",
            "Forgot my password after holiday",
        ),
        "Hi, I can't log in to my computer this morning: it says my password is wrong and now "
        "my account is locked. Could you reset it please? My laptop is {asset}.",
        "Glad you're back in. The lock-out came from your phone still trying the old password, "
        "so remember to update it in the Mail app as well.",
        weight=3,
        reply="Hi {first}, I've unlocked your account and set a temporary password, which I've "
        "sent to your mobile by SMS. You'll be asked to choose a new one when you log in.",
        note="AD: locked after 5 bad attempts from ActiveSync (old password on the phone).",
        quick=True,
    ),
    Issue(
        "mfa",
        "Accounts > MFA",
        ("New phone: need to move my MFA authenticator", "MFA prompts not arriving"),
        "I got a new phone and the Authenticator app didn't move over, so I can't approve "
        "sign-ins any more. I'm stuck on the login page.",
        "We reset your MFA registration: at your next login you'll be asked to set up the "
        "Authenticator app on the new phone. Takes two minutes.",
        quick=True,
    ),
    Issue(
        "access",
        "Accounts > Access request",
        ("Access to {share}", "Please add me to the {team} shared mailbox"),
        "Hi, I've joined the {team} team and need access to {share} and the {team} shared "
        "mailbox. {manager} knows about it.",
        "You're now in the {team} access group. Please log off and on again so that the drive "
        "and the shared mailbox appear.",
        weight=1.5,
        ask="Access needs the data owner's approval: could {manager} confirm in this ticket?",
        answer="{manager} approved it by e-mail, I've forwarded it to the service desk.",
        note="Added to AD groups GG-{team}-RW and MB-{team}.",
    ),
    Issue(
        "starter",
        "Accounts > New starter",
        ("New starter: {newcomer}, {team}, starts {weekday}",),
        "Submitted by the HR onboarding form.\n\nName: {newcomer}\nDepartment: {team}\n"
        "Start date: next {weekday}\nEquipment: laptop, headset, mobile phone\n"
        "Access: e-mail, Teams, {team} shared drive",
        "All set for {newcomer}: account, mailbox, {laptop} and phone are ready at the service "
        "desk for the first morning; the welcome letter with the password is in a sealed envelope.",
        tags=("onboarding",),
        reply="Thanks, onboarding has started: account created and a {laptop} reserved.",
        ask="Which cost centre should the laptop and phone be charged to?",
        answer="Cost centre 4100 ({team}).",
        note="Laptop imaged with the standard build; serial added to the asset register.",
        api=True,
    ),
    Issue(
        "leaver",
        "Accounts > Leaver",
        ("Leaver: {newcomer}, last day {weekday}",),
        "Submitted by the HR offboarding form.\n\nName: {newcomer}\nLast working day: {weekday}\n"
        "Please disable access at 18:00 and forward e-mail to the manager for 30 days. The "
        "laptop will be returned to the service desk.",
        "Account disabled, mailbox converted to a shared mailbox and forwarded to {manager}; "
        "the laptop was returned and wiped.",
        tags=("offboarding",),
        reply="Noted: the account is scheduled to be disabled on {weekday} at 18:00.",
        ask="Should {manager} also get access to the leaver's OneDrive files?",
        answer="Yes please, for 30 days.",
        api=True,
    ),
    Issue(
        "vpn",
        "Network > VPN",
        (
            "VPN keeps disconnecting",
            "Can't connect to VPN from home",
            "VPN: 'gateway not responding'",
        ),
        "Since yesterday the VPN is unusable when I work from home: it either doesn't connect "
        "or drops after a few minutes, so I keep losing the ERP. Normal websites work fine.",
        "I've pushed version 6.2.4 of the VPN client to your laptop, which fixes the drops. "
        "Please restart once and let us know if it happens again.",
        weight=2.5,
        tags=("remote",),
        ask="Which version of the VPN client do you have (right-click the tray icon > About), "
        "and are you on Wi-Fi or on a cable?",
        answer="It says 6.1.2, and I'm on my home Wi-Fi.",
        note="Client 6.1.2 has the known keep-alive bug; 6.2.4 is in the software centre.",
        escalate=(2, "Several people at {org} report VPN drops; please check the firewall logs."),
    ),
    Issue(
        "wifi",
        "Network > Wi-Fi",
        ("Wi-Fi drops in the {room}", "Bad Wi-Fi in the {room}"),
        "The Wi-Fi in the {room} keeps dropping during meetings; Teams calls freeze every few "
        "minutes. It has been like this all week.",
        "We replaced the faulty access point near the {room} and moved the room to the 5 GHz "
        "network. Calls should be stable now.",
        weight=1.5,
        tags=("on-site",),
        escalate=(2, "Looks like a failing access point; needs an on-site check."),
        hold="Replacement access point ordered, delivery expected in 3-5 days.",
    ),
    Issue(
        "share",
        "Network > Shared drive",
        ("Access denied on {share}", "Can't open {share} any more"),
        "Since this morning I can't open {share}: I get 'Access is denied'. It worked yesterday.",
        "Fixed: last night's file server maintenance removed your group from the folder. "
        "Please try again.",
        weight=1.5,
        note="Permission inheritance broken on the folder after the migration; restored.",
        escalate=(3, "Folder permissions on the file server; L1 has no rights there."),
    ),
    Issue(
        "internet",
        "Network > Internet",
        ("No internet in the warehouse", "Warehouse offline: no internet, scanners down"),
        "The whole warehouse office has had no internet since 8:30. The scanners can't reach "
        "the ERP either and trucks are waiting to be loaded.",
        "The provider repaired the fibre and the line is stable again. We also fixed the 4G "
        "failover, so a cut like this shouldn't stop work next time.",
        priority="urgent",
        weight=0.6,
        tags=("outage",),
        note="Provider confirms a fibre cut near the site; the 4G failover did not kick in.",
        escalate=(3, "Site-wide outage: WAN link down; needs the provider and the firewall."),
    ),
    Issue(
        "printer",
        "Hardware > Printer",
        ("Printer on floor {floor} jams", "Can't print to the {printer}", "Printer shows offline"),
        "The {printer} keeps jamming and shows offline; nobody on floor {floor} can print. "
        "We have restarted it twice already.",
        "The engineer replaced the fuser unit and the printer is back online; the print queue "
        "has been cleared.",
        weight=2.5,
        tags=("printer",),
        escalate=(2, "Hardware fault, needs an on-site visit."),
        hold="Vendor engineer booked for the fuser unit later this week.",
    ),
    Issue(
        "laptop",
        "Hardware > Laptop",
        ("Laptop won't turn on", "Laptop screen stays black"),
        "My laptop ({asset}) won't start this morning: the power light comes on but the screen "
        "stays black. I have a presentation at 2 pm.",
        "Your laptop is back from the warranty repair (new mainboard) and ready to collect; "
        "please return the loan laptop when you pick it up.",
        priority="high",
        weight=1.5,
        tags=("hardware",),
        reply="Hi {first}, come by the service desk and we'll give you a loan laptop right away; "
        "your files are in OneDrive.",
        escalate=(2, "Probably mainboard or display; needs a swap and a warranty case."),
        hold="Warranty case opened with the manufacturer; technician visit within 2 working days.",
    ),
    Issue(
        "slow",
        "Hardware > Laptop",
        ("Laptop very slow", "Computer takes 10 minutes to start"),
        "My computer has become very slow over the last few weeks; opening Outlook takes "
        "minutes. Laptop {asset}.",
        "We cleaned up the disk, moved your old downloads to OneDrive and upgraded the memory "
        "to 16 GB. It should be much quicker now.",
        priority="low",
        note="C: at 98% (40 GB in Downloads), only 8 GB of RAM.",
    ),
    Issue(
        "new-laptop",
        "Hardware > Laptop",
        ("Replacement laptop: battery lasts 30 minutes", "Request for a new laptop"),
        "My laptop ({asset}) is four years old and the battery lasts half an hour. Could I get "
        "a replacement?",
        "Your new {laptop} is ready with your data migrated; please bring the old one back to "
        "the service desk.",
        priority="low",
        tags=("hardware",),
        ask="A new laptop needs your manager's approval: could {manager} confirm here?",
        answer="{manager} approved it, see the forwarded e-mail.",
        hold="Waiting for {manager} to approve the purchase order.",
    ),
    Issue(
        "monitor",
        "Hardware > Monitor",
        ("Second monitor not detected", "Docking station: second screen stays black"),
        "My second monitor isn't detected any more when I plug in the docking station.",
        "The docking station firmware was out of date; after the update both screens work. If "
        "it happens again, unplug the dock's power for 10 seconds.",
        priority="low",
    ),
    Issue(
        "meeting-room",
        "Hardware > Meeting room",
        ("Projector in the {room} shows no signal", "No picture on the {room} projector"),
        "The projector in the {room} says 'no signal' with the HDMI cable. We have a client "
        "meeting there in half an hour!",
        "The HDMI cable was damaged; I replaced it and left a spare USB-C adapter in the room.",
        priority="high",
        tags=("on-site",),
        reply="On my way to the {room} now.",
        quick=True,
    ),
    Issue(
        "outlook",
        "Software > Office",
        ("Outlook keeps asking for my password", "Password prompt in Outlook every few minutes"),
        "Outlook keeps popping up a password prompt every few minutes, even after I type the "
        "right password.",
        "We removed the old saved credentials and re-created your Outlook profile; the prompts "
        "should be gone.",
        weight=1.5,
        note="Stale credentials in Windows Credential Manager.",
    ),
    Issue(
        "excel",
        "Software > Office",
        ("Excel crashes when opening a large file",),
        "Excel freezes and closes whenever I open the monthly {team} report (about 80 MB).",
        "The crash came from an old add-in; we disabled it and updated Office to the current "
        "build. The report opens in a few seconds now.",
        ask="Could you tell us where the file is saved, so that we can test it here?",
        answer="It's in {share}, folder 'Monthly reports'.",
    ),
    Issue(
        "teams",
        "Software > Office",
        ("Teams: people can't hear me in calls", "Microphone not working in Teams"),
        "In Teams calls people can't hear me, although the headset works in other apps.",
        "Teams was using the laptop's built-in microphone; we set the headset as the default "
        "device in Teams and in Windows.",
        quick=True,
    ),
    Issue(
        "install",
        "Software > Install request",
        ("Please install {app}", "Software request: {app}"),
        "Could you install {app} on my laptop ({asset})? I need it for a project that starts "
        "next week.",
        "{app} is installed and licensed; you'll find it in the Start menu.",
        priority="low",
        weight=2,
        ask="{app} needs a paid licence: could {manager} approve the cost in this ticket?",
        answer="{manager} approved it, see the forwarded e-mail.",
        hold="Licence ordered from the reseller, waiting for the key.",
    ),
    Issue(
        "erp",
        "Software > Business apps",
        ("ERP: 'licence limit reached' at login", "Can't log in to the ERP"),
        "Since this morning the ERP says 'licence limit reached' when I log in. Half of "
        "{team} can't work.",
        "The vendor reset the stuck licence sessions and patched the licence service; logins "
        "work again.",
        priority="high",
        weight=0.6,
        escalate=(3, "ERP licence server; needs vendor support."),
        hold="Vendor support case opened, waiting for their answer.",
    ),
    Issue(
        "mobile",
        "E-mail > Mobile setup",
        ("Set up e-mail on my new {device}", "Work e-mail on my new {device}?"),
        "I have a new {device}. How do I get my work e-mail and calendar on it?",
        "Great, you're set up. Remember that company policy requires a PIN on the phone.",
        weight=1.5,
        quick=True,
        reply="Hi {first}, install Microsoft Outlook from the app store, sign in with your work "
        "address and approve the sign-in in the Authenticator app.",
    ),
    Issue(
        "mailbox",
        "E-mail > Mailbox",
        ("Mailbox full, can't send e-mail", "'Your mailbox is full' message"),
        "I got a message that my mailbox is full and I can't send e-mail any more.",
        "We enabled the online archive: items older than two years move there automatically, "
        "so you have plenty of space again.",
    ),
    Issue(
        "phishing",
        "Security > Phishing",
        ("Suspicious e-mail asking for my password", "Did I click a phishing link?"),
        "I received an e-mail that looks like it comes from Microsoft, asking me to confirm my "
        "password. I clicked the link but didn't type anything. Is it safe?",
        "Thanks for reporting it so quickly! It was phishing: we removed it from every mailbox "
        "and blocked the sender. As you didn't type your password, nothing else is needed.",
        ask="Could you forward the e-mail to us as an attachment, so that we can see its headers?",
        answer="Done, I've just forwarded it.",
        priority="high",
        tags=("security",),
        note="Sender domain micros0ft-support.com; blocked at the gateway, purged from "
        "14 mailboxes.",
        escalate=(3, "Possible credential phishing campaign; please purge and block."),
    ),
    Issue(
        "server",
        "Infrastructure > Servers",
        ("File server not reachable", "S: drive hangs for the whole {team} team"),
        "Nobody in {team} can open files on the S: drive; Explorer just hangs.",
        "The file server ran out of disk space; we extended it and everything is accessible "
        "again. Sorry for the disruption.",
        priority="urgent",
        weight=0.6,
        tags=("outage",),
        note="FS01 D: full (shadow copies); volume extended by 200 GB.",
        escalate=(3, "Server-side problem affecting the whole department."),
    ),
    Issue(
        "restore",
        "Infrastructure > Backup",
        ("Please restore a deleted folder", "Deleted a folder by mistake"),
        "I deleted the folder 'Quotes 2024' in {share} by mistake yesterday. Can you get it back?",
        "The folder is restored from the backup, in the same place.",
        ask="From which day should we restore it: yesterday evening's backup?",
        answer="Yes, yesterday evening is perfect.",
        escalate=(3, "Restore from backup; L1 has no access to the backup console."),
    ),
)

ZH_ISSUES = (
    Issue(
        "password",
        "Accounts > Password reset",
        ("忘记密码，无法登录电脑", "域账号被锁定", "密码过期，登录不了"),
        "你好，今天早上登录电脑时提示密码错误，试了几次以后账号被锁定了。麻烦帮我重置一下"
        "密码，我的电脑编号是 {asset}。谢谢！",
        "账号已恢复正常。之前被锁是因为手机邮箱还在用旧密码，请记得在手机上也更新一下。",
        weight=3,
        reply="{first}你好，已为您解锁账号并设置了临时密码，已通过短信发到您的手机。"
        "首次登录时系统会要求您修改密码。",
        note="AD 日志显示旧手机的 ActiveSync 多次用旧密码登录，导致账号锁定。",
        quick=True,
    ),
    Issue(
        "vpn",
        "Network > VPN",
        ("VPN 连接失败", "在家无法连接公司 VPN", "VPN 提示网关无响应"),
        "在家办公时 VPN 一直连不上，提示“网关无响应”。公司内网的系统都打不开，今天下午"
        "要交报表，比较着急。",
        "已为您的电脑推送 6.2.4 版本的 VPN 客户端，重启一次即可。如果还有问题请随时告诉我们。",
        weight=2.5,
        tags=("remote",),
        ask="请问您的 VPN 客户端是什么版本（右键托盘图标 > 关于）？用的是 Wi-Fi 还是有线网络？",
        answer="版本是 6.1.2，用的是家里的 Wi-Fi。",
        note="6.1.2 版本有已知的断线问题，软件中心已有 6.2.4。",
        escalate=(2, "华讯多位同事反映 VPN 断线，需要检查防火墙日志。"),
    ),
    Issue(
        "printer",
        "Hardware > Printer",
        ("打印机无法连接", "{floor}楼打印机卡纸", "打印机显示脱机"),
        "{printer}经常卡纸，现在一直显示脱机，整个{floor}楼都打印不了。已经重启过两次了。",
        "厂商工程师已更换定影器，打印机恢复正常，打印队列也已清空。",
        weight=2.5,
        tags=("printer",),
        escalate=(2, "硬件故障，需要上门检修。"),
        hold="已联系厂商，定影器需要更换，工程师预计本周内上门。",
    ),
    Issue(
        "mobile",
        "E-mail > Mobile setup",
        ("手机无法收取公司邮件", "新手机怎么设置公司邮箱？"),
        "我换了新手机（{device}），公司邮件和日历都收不到了，请问应该怎么设置？",
        "设置成功。按照公司规定，手机需要设置锁屏密码。",
        weight=1.5,
        quick=True,
        reply="{first}你好，请在应用商店安装 Microsoft Outlook，用公司邮箱登录，"
        "然后在验证器里批准登录请求即可。",
    ),
    Issue(
        "wifi",
        "Network > Wi-Fi",
        ("无线网络经常断线", "{room}连不上 Wi-Fi"),
        "{room}的无线网络经常断线，开视频会议的时候一直卡顿，已经持续一个星期了。",
        "已更换{room}附近的无线 AP，并把会议室设备切换到 5 GHz 网络，现在视频会议应该稳定了。",
        tags=("on-site",),
        escalate=(2, "疑似无线 AP 故障，需要现场检查。"),
        hold="新的无线 AP 已向供应商订购，预计 3-5 天到货。",
    ),
    Issue(
        "install",
        "Software > Install request",
        ("申请安装 {app}", "软件安装申请：{app}"),
        "你好，因为工作需要，麻烦帮我在电脑（{asset}）上安装 {app}，谢谢。",
        "{app} 已安装并激活，可以在开始菜单中找到。",
        priority="low",
        weight=1.5,
        ask="这个软件需要购买许可证，请{manager}在工单里确认一下费用。",
        answer="{manager}已经同意了，邮件已转发给你们。",
        hold="许可证已向经销商订购，等待激活码。",
    ),
    Issue(
        "laptop",
        "Hardware > Laptop",
        ("笔记本电脑开不了机", "电脑开机后黑屏"),
        "早上笔记本电脑（{asset}）开不了机，电源灯亮但屏幕一直是黑的。下午还要给客户演示，"
        "麻烦尽快处理。",
        "您的电脑已保修完毕（更换了主板），可以到 IT 服务台领取，领取时请归还备用电脑。",
        priority="high",
        tags=("hardware",),
        reply="{first}你好，请先到 IT 服务台领一台备用电脑，您的文件都在 OneDrive 上。",
        escalate=(2, "疑似主板或屏幕故障，需要更换设备并提交保修。"),
        hold="已向联想提交保修申请，工程师预计两个工作日内上门。",
    ),
    Issue(
        "slow",
        "Hardware > Laptop",
        ("电脑运行很慢", "电脑开机要十分钟"),
        "最近几周电脑越来越慢，打开 Outlook 都要好几分钟。电脑编号 {asset}。",
        "已清理磁盘，把旧的下载文件移到了 OneDrive，并把内存升级到 16 GB，现在应该快很多。",
        priority="low",
        note="C 盘使用率 98%，下载文件夹占 40 GB，内存只有 8 GB。",
    ),
    Issue(
        "share",
        "Network > Shared drive",
        ("共享盘无法访问", "打开 {share} 提示拒绝访问"),
        "从今天早上开始打不开 {share}，提示“拒绝访问”。昨天还是正常的。",
        "已修复：昨晚文件服务器维护时误删了您所在的组的权限。请再试一下。",
        note="迁移后文件夹的权限继承被破坏，已恢复。",
    ),
    Issue(
        "meeting-room",
        "Hardware > Meeting room",
        ("会议室投影仪没有信号", "{room}投影仪无法显示"),
        "{room}的投影仪接 HDMI 显示“无信号”，半小时后有客户会议！",
        "HDMI 线坏了，已经更换，并在会议室放了一个备用的 USB-C 转接头。",
        priority="high",
        tags=("on-site",),
        reply="马上到{room}处理。",
        quick=True,
    ),
    Issue(
        "outlook",
        "Software > Office",
        ("Outlook 一直提示输入密码", "Outlook 反复弹出密码框"),
        "Outlook 每隔几分钟就弹出密码框，输入正确的密码后还是会再弹。",
        "已删除 Windows 凭据管理器中的旧凭据，并重建了 Outlook 配置文件，应该不会再弹了。",
    ),
    Issue(
        "starter",
        "Accounts > New starter",
        ("新员工入职：{newcomer}（{team}）",),
        "由 HR 入职系统提交。\n\n姓名：{newcomer}\n部门：{team}\n入职日期：下{weekday}\n"
        "设备：笔记本电脑、耳机\n权限：邮箱、企业微信、部门共享盘",
        "{newcomer}的账号、邮箱和电脑（{laptop}）都已准备好，入职当天早上可以到 IT 服务台领取。",
        tags=("onboarding",),
        reply="收到，已开始准备：账号已创建，预留了一台{laptop}。",
        ask="请问电脑和耳机的费用记到哪个成本中心？",
        answer="记到{team}的成本中心 4100。",
        api=True,
    ),
)

ISSUES = {"en": EN_ISSUES, "zh": ZH_ISSUES}

# What agents and requesters say whatever the issue.
GENERIC = {
    "en": {
        "reply": "Hi {first}, thanks for getting in touch. I'm looking into this now and will "
        "keep you posted here.",
        "phone": "Thanks for your call, {first}. As discussed, I've logged this and I'm on it; "
        "I'll update you here.",
        "walk_in": "Thanks for coming by, {first}. As we discussed at the desk, I've logged this "
        "and I'm on it; I'll update you here.",
        "ask": "Could you tell us when this started, and whether anything changed just before "
        "(new device, moved desk, updates)?",
        "answer": "It started yesterday afternoon. Nothing changed on my side as far as I know.",
        "confirm": "I've made a change on our side. Could you check whether it works for you now?",
        "confirmed": "Yes, it works now. Thanks a lot for the quick help!",
        "reopen": "Sorry, it's happening again this morning.",
        "refix": "Thanks for telling us. I found what was left over and fixed it; it should "
        "stay fixed now.",
        "self_solved": "It works again after a restart, so you can close this. Thanks!",
        "takeover": "Hi {first}, I'm {agent} from {group}; I've taken over your ticket and "
        "will be in touch shortly.",
        "hold": "Waiting for the supplier to confirm a delivery date.",
        "hold_public": "Quick update: we're waiting on a third party for this one. I'll get back "
        "to you as soon as we hear from them.",
        "unhold": "Good news: we've heard back and are working on it again.",
        "duplicate": "Sending this again as I haven't heard back yet:\n\n",
        "vip": "{first} is the organization manager at {org}: keep them updated proactively.",
    },
    "zh": {
        "reply": "{first}你好，已收到您的请求，我正在处理，有进展会在这里通知您。",
        "phone": "{first}你好，感谢来电。按电话里沟通的，我已登记并开始处理，有进展会在这里更新。",
        "walk_in": "{first}你好，感谢您来服务台。问题我已登记并开始处理，有进展会在这里更新。",
        "ask": "问题是什么时候开始的？之前有没有换设备或更新系统？",
        "answer": "昨天下午开始的，我这边没有改过任何设置。",
        "confirm": "我们这边已经做了调整，麻烦您确认一下现在是否正常？",
        "confirmed": "现在正常了，非常感谢！",
        "reopen": "不好意思，今天早上又出现同样的问题了。",
        "refix": "谢谢反馈。我们找到了遗留的问题并已修复，现在应该不会再出现了。",
        "self_solved": "重启以后就好了，这个工单可以关闭了，谢谢！",
        "takeover": "{first}你好，我是{group}的{agent}，您的工单已转到我这里，我会尽快联系您。",
        "hold": "等待供应商确认到货时间。",
        "hold_public": "进展更新：目前在等待第三方的回复，一有消息会马上通知您。",
        "unhold": "好消息：已经收到回复，我们正在继续处理。",
        "duplicate": "再发一次，之前提交的还没有收到回复：\n\n",
        "vip": "{first}是{org}的组织管理员，请主动跟进进展。",
    },
}

# Words that vary from one ticket to the next.
FILLERS = {
    "en": {
        "room": ("boardroom", "training room", "meeting room 2.04", "canteen"),
        "printer": ("HP LaserJet M607", "Canon iR-ADV C5535", "Kyocera TASKalfa 3554ci"),
        "app": ("Adobe Acrobat Pro", "AutoCAD LT", "Power BI Desktop", "Visio", "Zoom", "7-Zip"),
        "team": ("Finance", "Sales", "Purchasing", "Quality", "HR", "Planning"),
        "share": (r"\\fs01\finance", r"\\fs01\projects", r"\\fs01\quality", r"\\fs01\sales"),
        "newcomer": ("Olivia Brown", "Lucas Martin", "Hannah Schulz", "Noah Evans", "Mia Visser"),
        "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
        "device": ("iPhone 15", "Samsung Galaxy S24", "Pixel 8"),
        "laptop": ("Dell Latitude 5440", "Lenovo ThinkPad T14", "HP EliteBook 840"),
    },
    "zh": {
        "room": ("大会议室", "三楼小会议室", "培训室"),
        "printer": ("三楼的理光打印机", "前台的惠普打印机", "财务部的佳能复印机"),
        "app": ("钉钉", "WPS Office", "AutoCAD", "Adobe Acrobat", "企业微信"),
        "team": ("财务部", "销售部", "研发部", "人事部"),
        "share": (r"\\fs01\财务", r"\\fs01\研发", r"\\fs01\销售"),
        "newcomer": ("孙丽", "周杰", "吴婷", "郑浩"),
        "weekday": ("周一", "周二", "周三", "周四", "周五"),
        "device": ("iPhone 15", "华为 Mate 60", "小米 14"),
        "laptop": ("联想 ThinkPad T14", "戴尔 Latitude 5440"),
    },
}


# --- When and what: the tickets to open, decided before anything is written -------------

CHANNELS = (Channel.WEB, Channel.EMAIL, Channel.PHONE, Channel.CHAT, Channel.WALK_IN, Channel.API)
CHANNEL_WEIGHTS = (0.32, 0.29, 0.15, 0.11, 0.05, 0.08)
BY_AGENT = frozenset({Channel.PHONE, Channel.WALK_IN})  # the agent opens these for the requester
DAY_WEIGHTS = (1.3, 1.1, 1.0, 1.0, 0.8, 0.06, 0.04)  # Monday first: Monday is the busiest
HOUR_WEIGHTS = {7: 0.2, 8: 0.8, 9: 1.4, 10: 1.3, 11: 1.1, 12: 0.6, 13: 0.9, 14: 1.2}
HOUR_WEIGHTS |= {15: 1.0, 16: 0.8, 17: 0.5, 18: 0.2, 19: 0.1}
FATES = ("done", "open", "pending", "on_hold")
NEWEST_UNTOUCHED = 6  # the newest tickets wait in the queue, nobody has picked them up yet
DUPLICATES = 3
LINKS = 4
# Faults that sometimes go away with a restart, which the requester then reports.
FIXES_ITSELF = frozenset({"vpn", "wifi", "printer", "outlook", "teams", "monitor", "share"})
# Faults that can come back after they were fixed, so that the requester reopens the ticket.
RECURS = FIXES_ITSELF | {"password", "mailbox", "erp", "excel", "slow", "internet", "server"}
LINKABLE = frozenset({"vpn", "wifi", "share", "internet", "printer", "phishing", "erp", "server"})


@dataclass
class Spec:
    """One ticket to open: who, when, through which channel and about what."""

    created: datetime
    org: Org
    requester: Person
    issue: Issue
    channel: str
    priority: int
    words: dict[str, str]
    variant: int  # which of the issue's subjects
    fate: str = "done"  # where its story stops: done means resolved, then closed

    @property
    def lang(self) -> str:
        return self.requester.lang

    @property
    def subject(self) -> str:
        return self.issue.subjects[self.variant].format_map(self.words)

    @property
    def description(self) -> str:
        return self.issue.description.format_map(self.words)


def ticket_specs(now: datetime, count: int = TICKET_COUNT) -> list[Spec]:
    """The tickets to open, oldest first; no database, so it can be checked on its own."""
    rng = random.Random(SEED)
    specs = sorted((_spec(rng, now, *slot) for slot in _slots(rng, now, count)), key=_created)
    untouched = 0
    for spec in reversed(specs):
        if untouched < NEWEST_UNTOUCHED and spec.channel not in BY_AGENT:
            spec.fate, untouched = "new", untouched + 1  # an agent's own tickets are open at once
        else:
            age = (now - spec.created) / timedelta(days=1)
            spec.fate = rng.choices(FATES, _fate_weights(age))[0]
    return specs


def _created(spec: Spec) -> datetime:
    return spec.created


def _slots(rng: random.Random, now: datetime, count: int) -> list[tuple]:
    """(organization, day, hours) of each ticket, spread by weight over every organization's
    past working hours: busy and quiet days, but none left empty by chance."""
    strata = []
    for org in ORGS:
        today = now.astimezone(org.tz).date()
        for day in (today - timedelta(days=back) for back in range(DAYS)):
            hours = [h for h in HOUR_WEIGHTS if _at(day, h, org.tz) < now - timedelta(hours=2)]
            weight = sum(HOUR_WEIGHTS[h] for h in hours) * DAY_WEIGHTS[day.weekday()]
            strata.append((org, day, hours, weight * org.weight * rng.uniform(0.5, 1.5)))
    step = sum(s[-1] for s in strata) / count
    position, total, slots = rng.uniform(0, step), 0.0, []
    for org, day, hours, weight in strata:
        total += weight
        while position < total and len(slots) < count:
            slots.append((org, day, hours))
            position += step
    return slots


def _at(day, hour: int, tz: ZoneInfo, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=tz)


def _spec(rng: random.Random, now: datetime, org: Org, day, hours: list[int]) -> Spec:
    channel = rng.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
    members = [p for p in PEOPLE if p.org == org.slug]
    if channel == Channel.API:  # the customer's HR system, which uses the manager's token
        requester = next(p for p in members if p.manager)
    else:
        requester = rng.choices(members, [0.5 if p.manager else 1 for p in members])[0]
    issues = [i for i in ISSUES[requester.lang] if i.api == (channel == Channel.API)]
    issue = rng.choices(issues, [i.weight for i in issues])[0]
    priority = Priority.from_key(issue.priority)
    if rng.random() < 0.15:
        priority = _nudge(priority, rng)
    words = _words(rng, org, requester)
    variant = rng.randrange(len(issue.subjects))
    hour = rng.choices(hours, [HOUR_WEIGHTS[h] for h in hours])[0]
    created = _at(day, hour, org.tz, rng.randrange(60), rng.randrange(60))
    return Spec(created, org, requester, issue, channel, priority, words, variant)


def _words(rng: random.Random, org: Org, requester: Person) -> dict:
    words = {key: rng.choice(values) for key, values in FILLERS[requester.lang].items()}
    manager = next(p for p in PEOPLE if p.org == org.slug and p.manager)
    return words | {
        "first": requester.first,
        "manager": _full_name(manager),
        "org": org.name,
        "floor": str(rng.randint(1, 4)),
        "asset": f"{org.asset_prefix}-LT-{rng.randint(100, 999):04d}",
    }


def _fate_weights(age_days: float) -> tuple[float, ...]:
    """Weights of FATES: recent tickets are still being worked on, old ones are done."""
    if age_days < 1:
        return (0.2, 0.45, 0.25, 0.1)
    if age_days < 5:
        return (0.45, 0.25, 0.22, 0.08)
    if age_days < 14:
        return (0.7, 0.1, 0.12, 0.08)
    if age_days < 30:
        return (0.93, 0.03, 0, 0.04)
    return (1, 0, 0, 0)


def _nudge(priority: int, rng: random.Random) -> int:
    return min(Priority.URGENT, max(Priority.LOW, priority + rng.choice((-1, 1))))


def _full_name(person: Person) -> str:
    return f"{person.first} {person.last}".strip()


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    """Mostly near `low`, sometimes near `high`: how long people take to answer."""
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _working(moment: datetime, tz: ZoneInfo, rng: random.Random) -> datetime:
    """The moment, or the next morning if it falls at night or on a weekend: office hours."""
    local = moment.astimezone(tz)
    if local.weekday() < 5 and 8 <= local.hour < 18:
        return moment
    day = local.date() if local.hour < 8 else local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(8), tzinfo=tz) + timedelta(minutes=rng.uniform(0, 75))


# --- Writing it: the desk first, then every ticket's story in the order it happened ------


@dataclass
class Desk:
    """The organizations, people, groups and categories that the tickets refer to."""

    orgs: dict[str, Organization]
    users: dict[str, User]
    groups: dict[str, Group]
    categories: dict[str, Category]

    def agents(self, group: str, tz: ZoneInfo) -> list[User]:
        """Members of `group` working in the customer's part of the world, if there are any."""
        members = [p for p in PEOPLE if group in p.groups]
        local = [p for p in members if (p.tz == SHANGHAI) == (tz.key == SHANGHAI)]
        return [self.users[p.username] for p in local or members]


def _create_desk(since: datetime) -> Desk:
    """Everything but tickets, dated `since` so that it predates the first ticket."""
    with clock.frozen_at(since):
        orgs = {o.slug: _create_org(o) for o in ORGS}
        users = {p.username: _create_person(p, orgs) for p in PEOPLE}
        groups = {g[0]: _create_group(g, users, orgs) for g in GROUPS}
        categories = _create_categories()
        _create_sla(since, orgs)
    _set_profiles(users, since)
    return Desk(orgs, users, groups, categories)


def _create_org(org: Org) -> Organization:
    """An organization and its e-mail domain, so that its people's mail is recognised."""
    organization = accounts.create_organization(actor=None, slug=org.slug, name=org.name)
    accounts.add_organization_domain(
        actor=None, organization=organization, domain=f"{org.slug}.example.com"
    )
    return organization


def _create_person(person: Person, orgs: dict[str, Organization]) -> User:
    return accounts.create_user(
        actor=None,
        username=person.username,
        email=person.email,
        role=person.role,
        organization=orgs.get(person.org),
        first_name=person.first,
        last_name=person.last,
        is_org_manager=person.manager,
        validate_password=False,
    )


def _create_group(group: tuple, users: dict[str, User], orgs: dict) -> Group:
    slug, name, tier, description, served = group
    return accounts.create_group(
        actor=None,
        slug=slug,
        name=name,
        tier=tier,
        description=description,
        members=[users[p.username] for p in PEOPLE if slug in p.groups],
        organizations=[orgs[o] for o in served],
    )


def _create_categories() -> dict[str, Category]:
    categories = {}
    for name, children in CATEGORIES.items():
        parent = tickets.create_category(actor=None, name=name)
        categories[name] = parent
        for child in children:
            node = tickets.create_category(actor=None, name=child, parent=parent)
            categories[node.full_name] = node
    return categories


def _create_sla(since: datetime, orgs: dict[str, Organization]) -> None:
    """Office hours with public holidays, one policy for every ticket (warnings and breaches
    are e-mailed, nothing is escalated), and the Shanghai client's own calendar."""
    from firstline.sla import services as sla
    from firstline.sla.services import TargetMinutes

    years = {"first_year": since.year, "last_year": since.year + 1}
    london = sla.create_calendar(
        actor=None,
        name="London office",
        time_zone=LONDON,
        hours=dict.fromkeys(range(5), "09:00-17:30"),
    )
    sla.import_holidays(actor=None, calendar=london, country="GB", subdivision="ENG", **years)
    shanghai = sla.create_calendar(
        actor=None,
        name="Shanghai office",
        time_zone=SHANGHAI,
        hours=dict.fromkeys(range(5), "09:00-12:00, 13:00-18:00"),
    )
    sla.import_holidays(actor=None, calendar=shanghai, country="CN", **years)
    sla.create_policy(
        actor=None,
        name="Standard",
        calendar=london,
        targets={
            Priority.LOW: TargetMinutes(480, 960, 4800),
            Priority.NORMAL: TargetMinutes(240, 480, 2400),
            Priority.HIGH: TargetMinutes(60, 120, 960),
            Priority.URGENT: TargetMinutes(30, 60, 480),
        },
    )
    sla.save_contract(actor=None, organization=orgs["huaxun"], calendar=shanghai)


def _set_profiles(users: dict[str, User], since: datetime) -> None:
    """Language and time zone, which `create_user` does not take; then, in one query, the
    password, hashed once for all (an argon2 hash costs 0.05-0.2 s: one each would take
    seconds), and a joining date before the first ticket (`date_joined` is not clock-driven)."""
    for person in PEOPLE:
        user = users[person.username]
        language = "zh-hans" if person.lang == "zh" else ""
        accounts.update_profile(
            user=user,
            first_name=user.first_name,
            last_name=user.last_name,
            language=language,
            time_zone=person.tz,
        )
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(
        password=make_password(DEMO_PASSWORD), date_joined=since
    )


@dataclass(order=True)
class Step:
    """One service call; `seq` keeps calls planned for the same moment in planning order."""

    when: datetime
    seq: int
    run: object = field(compare=False)


class Plan:
    """Service calls to make, each at its moment; none may be in the future."""

    def __init__(self, now: datetime):
        self.now = now
        self.steps: list[Step] = []

    def add(self, when: datetime, *calls) -> bool:
        """Schedules `calls` half a minute apart, or nothing (False) if that ends after now."""
        if when + timedelta(seconds=30 * len(calls)) >= self.now:
            return False
        for i, call in enumerate(calls):
            self.steps.append(Step(when + timedelta(seconds=30 * i), len(self.steps), call))
        return True

    def run(self) -> None:
        for step in sorted(self.steps):
            with clock.frozen_at(step.when):
                step.run()


REPLY_CHANNEL = {
    Channel.PHONE: Channel.EMAIL,
    Channel.WALK_IN: Channel.EMAIL,
    Channel.API: Channel.WEB,
}


class Story:
    """One ticket's life as timed service calls. A step that would land after now is left
    out with everything after it, so the ticket stays where it has got to by now."""

    def __init__(self, spec: Spec, desk: Desk, plan: Plan, rng: random.Random):
        self.spec, self.desk, self.plan, self.rng = spec, desk, plan, rng
        self.t = spec.created
        self.live = True
        self.ticket: Ticket | None = None
        self.requester = desk.users[spec.requester.username]
        self.agent: User | None = None
        self.category = desk.categories[spec.issue.category]
        # The customer's manager gets the VIP treatment; their HR system's tickets do not.
        self.vip = spec.requester.manager and spec.channel != Channel.API
        self.tags = [*spec.issue.tags, *(["vip"] if self.vip else [])]
        self.reply_channel = REPLY_CHANNEL.get(spec.channel, spec.channel)

    # Scheduling

    def at(self, when: datetime, *calls) -> bool:
        self.live = self.live and self.plan.add(when, *calls)
        if self.live:
            self.t = when
        return self.live

    def after(self, low: float, high: float, *calls) -> bool:
        """Schedules `calls` `low` to `high` minutes after the last step, in office hours."""
        if not self.live:
            return False
        when = self.t + timedelta(minutes=_log_uniform(self.rng, low, high))
        return self.at(_working(when, self.spec.org.tz, self.rng), *calls)

    # Service calls, made later: the ticket does not exist yet while planning

    def create(self, **fields):
        def call():
            self.ticket = tickets.create_ticket(**fields)

        return call

    def update(self, actor: User | None, channel: str = WEB, **changes):
        return lambda: tickets.update_ticket(
            actor=actor, ticket=self.ticket, channel=channel, **changes
        )

    def say(self, actor: User, key: str, *, public: bool = True, channel: str = WEB, **words):
        body = self.text(key, **words)
        return lambda: tickets.add_comment(
            actor=actor, ticket=self.ticket, body=body, channel=channel, public=public
        )

    def text(self, key: str, **words) -> str:
        template = getattr(self.spec.issue, key, "") or GENERIC[self.spec.lang][key]
        return template.format_map(self.spec.words | words)

    def pick(self, group: str) -> User:
        return self.rng.choice(self.desk.agents(group, self.spec.org.tz))

    # The story

    def tell(self) -> None:
        """Opened, triaged, worked on, resolved and closed, stopping early as `fate` says."""
        self.open()
        if self.spec.fate == "new" or not self.triage():
            return
        if self.vip:
            self.flag_vip()
        self.investigate()
        if self.spec.fate == "pending" or self.rng.random() < 0.25:
            self.ask()
        if self.spec.fate == "pending":
            return
        if self.spec.fate == "on_hold" or self.wants_hold():
            self.hold()
        if self.spec.fate == "done":
            self.resolve()
            self.close()

    def open(self) -> None:
        """Requesters open their own tickets; on the phone or at the desk, the agent does."""
        spec = self.spec
        fields = dict(subject=spec.subject, description=spec.description, channel=spec.channel)
        fields |= dict(priority=spec.priority, actor=self.requester)
        if spec.channel in BY_AGENT:
            self.agent = self.pick("service-desk")
            fields |= dict(actor=self.agent, requester=self.requester, assignee=self.agent)
            fields |= dict(tags=self.tags)
        if spec.channel in {Channel.WEB, Channel.API} | BY_AGENT:
            fields["category"] = self.category  # forms and agents pick one; e-mail and chat don't
        self.at(spec.created, self.create(**fields))

    def triage(self) -> bool:
        """L1 takes the ticket, sets what the requester could not, and answers."""
        if self.spec.channel in BY_AGENT:
            return self.after(1, 6, self.say(self.agent, self.spec.channel))
        self.agent = self.pick("service-desk")
        changes = {"assignee": self.agent, "category": self.category}
        if self.tags:
            changes["tags"] = self.tags
        if self.rng.random() < 0.1:
            changes["priority"] = _nudge(self.spec.priority, self.rng)
        low, high = (1, 8) if self.spec.channel == Channel.CHAT else (4, 300)
        return self.after(
            low, high, self.update(self.agent, **changes), self.say(self.agent, "reply")
        )

    def flag_vip(self) -> None:
        """The supervisor keeps an eye on tickets from the customer's organization manager."""
        supervisor = self.desk.users["supervisor"]
        priority = max(self.spec.priority, Priority.HIGH)
        note = self.say(supervisor, "vip", public=False)
        self.after(5, 90, note, self.update(supervisor, priority=priority))

    def investigate(self) -> None:
        issue = self.spec.issue
        if issue.note and self.rng.random() < 0.6:
            self.after(5, 120, self.say(self.agent, "note", public=False))
        if issue.escalate and self.rng.random() < 0.5:
            self.escalate(*issue.escalate)

    def escalate(self, tier: int, reason: str) -> None:
        """Up a tier with a reason; someone there takes the ticket over."""
        group = self.escalation_group(tier)
        escalate = self.escalate_call(self.agent, reason, group)
        if not self.after(30, 1440, escalate):
            return
        agent = self.pick(group)
        if agent != self.agent:
            self.agent = agent
            words = dict(agent=agent.display_name, group=self.desk.groups[group].name)
            self.after(
                10, 240, self.update(agent, assignee=agent), self.say(agent, "takeover", **words)
            )

    def escalate_call(self, actor: User, reason: str, group: str):
        reason = reason.format_map(self.spec.words)
        return lambda: tickets.escalate_ticket(
            actor=actor,
            ticket=self.ticket,
            reason=reason,
            channel=WEB,
            group=self.desk.groups[group],
        )

    def escalation_group(self, tier: int) -> str:
        if tier >= 3:
            return "infrastructure"
        on_site = self.spec.issue.category.startswith("Hardware") or "on-site" in self.tags
        return (
            "shanghai-onsite" if on_site and self.spec.org.slug == "huaxun" else "desktop-network"
        )

    def ask(self) -> None:
        """The agent needs something from the requester: pending until they answer. Quick
        fixes have nothing to ask, so the agent asks whether the fix worked."""
        issue = self.spec.issue
        ask, answer = (
            ("confirm", "confirmed") if issue.quick and not issue.ask else ("ask", "answer")
        )
        asked = self.after(
            20, 1440, self.say(self.agent, ask), self.update(self.agent, status="pending")
        )
        if asked and self.spec.fate != "pending":
            self.after(20, 2880, self.say(self.requester, answer, channel=self.reply_channel))

    def wants_hold(self) -> bool:
        return (bool(self.spec.issue.hold) and self.rng.random() < 0.2) or self.rng.random() < 0.03

    def hold(self) -> None:
        """Waiting for a vendor, a part or an approval: on hold, the reason in a note."""
        held = self.after(
            30,
            1440,
            self.say(self.agent, "hold", public=False),
            self.update(self.agent, status="on_hold"),
            self.say(self.agent, "hold_public"),
        )
        if held and self.spec.fate != "on_hold":
            back = self.update(self.agent, status="open")
            self.after(1440, 7 * 1440, back, self.say(self.agent, "unhold"))

    def resolve(self) -> None:
        """The fix, told by the agent or, when it went away by itself, by the requester."""
        issue = self.spec.issue
        if not issue.quick and self.rng.random() < 0.25:  # the agent checks with them first
            check = self.update(self.agent, status="pending")
            self.after(30, 1440, self.say(self.agent, "confirm"), check)
            self.after(20, 1440, self.say(self.requester, "confirmed", channel=self.reply_channel))
        if issue.key in FIXES_ITSELF and self.rng.random() < 0.1:
            actor, key, channel = self.requester, "self_solved", self.reply_channel
        else:
            actor, key, channel = self.agent, "solution", WEB
        low, high = (3, 60) if issue.quick else (20, 2880)
        solve = self.update(actor, channel, status="resolved")
        solved = self.after(low, high, self.say(actor, key, channel=channel), solve)
        if solved and issue.key in RECURS and self.rng.random() < 0.07:
            self.reopen()

    def reopen(self) -> None:
        """Sometimes it comes back: the requester's reply reopens the ticket."""
        self.after(60, 2880, self.say(self.requester, "reopen", channel=self.reply_channel))
        solve = self.update(self.agent, status="resolved")
        self.after(30, 600, self.say(self.agent, "refix"), solve)

    def close(self) -> None:
        """An hourly job closes tickets a week after they were resolved: the system does it."""
        due = (self.t + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
        self.at(
            due + timedelta(hours=1, minutes=self.rng.uniform(1, 4)),
            self.update(None, status="closed"),
        )


def _create_tickets(desk: Desk, now: datetime) -> None:
    rng = random.Random(SEED + 1)
    plan = Plan(now)
    stories = [Story(spec, desk, plan, rng) for spec in ticket_specs(now)]
    for story in stories:
        story.tell()
    _plan_duplicates(stories, plan, rng)
    _plan_links(stories, plan, rng)
    plan.run()


def _plan_duplicates(stories: list[Story], plan: Plan, rng: random.Random) -> None:
    """A few requesters write twice about the same problem; L1 merges the second ticket."""
    old_enough = plan.now - timedelta(days=2)
    candidates = [
        s
        for s in stories
        if s.spec.channel in (Channel.WEB, Channel.EMAIL)
        and s.spec.created < old_enough
        and not s.spec.issue.quick  # a reminder after a quick fix would make no sense
    ]
    for original in rng.sample(candidates, DUPLICATES):
        spec = original.spec
        again = Story(spec, original.desk, plan, rng)
        create = again.create(
            actor=again.requester,
            subject=spec.subject,
            description=GENERIC[spec.lang]["duplicate"] + spec.description,
            channel=Channel.EMAIL if spec.channel == Channel.WEB else Channel.WEB,
            priority=spec.priority,
        )
        if again.after(15, 120, create):
            again.after(5, 60, _merge(again, original, again.pick("service-desk")))


def _merge(source: Story, target: Story, agent: User):
    return lambda: tickets.merge_tickets(
        actor=agent, source=source.ticket, target=target.ticket, channel=WEB
    )


def _plan_links(stories: list[Story], plan: Plan, rng: random.Random) -> None:
    """Reports of the same outage get linked, so that they are fixed and answered together."""
    pairs = [
        (a, b) for i, a in enumerate(stories) for b in stories[i + 1 :] if _related(a.spec, b.spec)
    ]
    for first, second in rng.sample(pairs, min(LINKS, len(pairs))):
        later = second.spec.created + timedelta(minutes=_log_uniform(rng, 30, 240))
        link = _link(first, second, second.pick("service-desk"))
        plan.add(_working(later, second.spec.org.tz, rng), link)


def _link(one: Story, other: Story, agent: User):
    return lambda: tickets.link_tickets(
        actor=agent, ticket=one.ticket, other=other.ticket, channel=WEB
    )


def _related(a: Spec, b: Spec) -> bool:
    return (
        a.org is b.org
        and a.issue.key == b.issue.key
        and a.issue.key in LINKABLE
        and abs(b.created - a.created) < timedelta(days=2)
    )


# --- The entry point ---------------------------------------------------------------------


def load_demo_data(*, stdout) -> list[tuple[str, str]]:
    """Loads the demo once, in one transaction; later runs (every `make run`) only return the
    logins. Times are relative to now, so a fresh demo always looks current."""
    started = timer.monotonic()
    with transaction.atomic():
        if Organization.objects.filter(slug__in=[o.slug for o in ORGS]).exists():
            stdout.write("The demo data is already there; not loading it again.")
            return _logins()
        stdout.write(
            f"Loading the demo data: {len(ORGS)} organizations, {len(PEOPLE)} people, "
            f"about {TICKET_COUNT} tickets over {DAYS} days..."
        )
        now = clock.now()
        desk = _create_desk(now - timedelta(days=DAYS + 30))
        _create_tickets(desk, now)
        create_demo_articles(
            author=desk.users["supervisor"], categories=desk.categories, organizations=desk.orgs
        )
        count = Ticket.objects.filter(organization__in=desk.orgs.values()).count()
    stdout.write(f"Loaded {count} tickets in {timer.monotonic() - started:.1f} s.")
    return _logins()


def _logins() -> list[tuple[str, str]]:
    existing = set(
        User.objects.filter(username__in=[p.username for p in PEOPLE]).values_list(
            "username", flat=True
        )
    )
    return [(p.username, _describe(p)) for p in PEOPLE if p.login and p.username in existing]


def _describe(person: Person) -> str:
    if person.role == Role.ADMIN:
        return "Administrator (also /django-admin/)"
    if person.role == Role.SUPERVISOR:
        return "Supervisor, sees every queue"
    if person.role == Role.AGENT:
        groups = [g for g in GROUPS if g[0] in person.groups]
        tiers = "/".join(f"L{t}" for t in sorted({g[2] for g in groups}))
        return f"{tiers} agent, {', '.join(g[1] for g in groups)}"
    org = ORG_BY_SLUG[person.org].name
    return f"Requester, {org}" + (" (organization manager)" if person.manager else "")
