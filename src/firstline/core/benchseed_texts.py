"""What the benchmark data says: real IT issues in English and Chinese, with the replies,
notes and answers their conversations usually take. `{name}`s are filled from VOCABULARY."""

from dataclasses import dataclass


@dataclass(frozen=True)
class IssueTemplate:
    category: str  # full path, e.g. "Hardware > Printer"
    subjects: tuple[str, ...]
    description: str
    reply: str  # the first public answer
    note: str  # an internal note
    answer: str  # the requester's follow-up
    resolution: str  # the closing reply
    priority_bias: int = 0  # -1 calmer, +1 more urgent than usual
    weight: float = 1.0


VOCABULARY = {
    "app": ("SAP", "Outlook", "Teams", "Salesforce", "Excel", "Jira", "Workday", "AutoCAD"),
    "asset": ("LT-20417", "LT-31876", "PC-10233", "LT-55102", "PC-40871", "LT-60219"),
    "floor": ("2", "3", "4", "5", "7", "11"),
    "room": ("Everest", "Kilimanjaro", "Orion", "Lotus", "Atlas", "Nile"),
    "share": ("\\\\fs01\\finance", "\\\\fs02\\projects", "\\\\fs01\\hr", "S:\\Sales"),
    "printer": ("PRN-3F-01", "PRN-5F-02", "PRN-2F-COLOR", "PRN-11F-01"),
    "site": ("London", "Manchester", "Amsterdam", "Shanghai", "Shenzhen", "Lyon"),
    "error": ("0x80070005", "0x8004010F", "ERR_CONNECTION_RESET", "AADSTS50076", "809"),
    "team": ("Finance", "Sales", "Marketing", "Procurement", "Legal", "Logistics"),
}

EN_ISSUES = (
    IssueTemplate(
        "Accounts > Password reset",
        ("Locked out of my account", "Password expired, can't log in", "Forgot my password"),
        "Hi, I can't log in this morning: it says my password is wrong and now my account is "
        "locked. Could you reset it please? My laptop is {asset}.",
        "Hi, I've unlocked your account and sent a temporary password to your mobile by SMS.",
        "AD: locked after 5 bad attempts from ActiveSync (old password on the phone).",
        "Thanks, I'm in again. Do I need to change it on my phone as well?",
        "Yes, please update it in the Mail app too, otherwise it locks you out again. Closing.",
        weight=3,
    ),
    IssueTemplate(
        "Accounts > MFA",
        ("New phone: need to move my MFA authenticator", "MFA prompts not arriving"),
        "I got a new phone and the Authenticator app didn't move over, so I can't approve "
        "sign-ins. I'm stuck on the login page with error {error}.",
        "We've reset your MFA registration: at your next login you can set up the new phone.",
        "Verified identity by call-back to the number in Workday before resetting MFA.",
        "It asks me for a code from the old phone again.",
        "Registration is reset now, the new phone works. Closing the ticket.",
        weight=1.5,
    ),
    IssueTemplate(
        "Accounts > Access request",
        ("Access to {share}", "Please add me to the {team} shared mailbox"),
        "Hi, I've joined the {team} team and need access to {share} and the {team} shared "
        "mailbox. My manager knows about it.",
        "Access needs the data owner's approval: could your manager confirm in this ticket?",
        "Owner of {share} is the {team} lead; approval needed per access policy.",
        "My manager approved it by e-mail, I've forwarded it to the service desk.",
        "You're now in the {team} access group. Log off and on again so the drive appears.",
        priority_bias=-1,
        weight=2,
    ),
    IssueTemplate(
        "Accounts > New starter",
        ("New starter on Monday: account and laptop", "Onboarding: new {team} colleague"),
        "We have a new colleague starting in {team} next Monday. Please prepare an account, a "
        "laptop and access to {app}.",
        "Thanks, we've created the account; the laptop {asset} is being imaged.",
        "Image ready, {app} licence assigned from the pool (3 left).",
        "Can the laptop be delivered to the {site} office?",
        "Everything is ready at the {site} reception desk. Welcome aboard!",
        priority_bias=-1,
    ),
    IssueTemplate(
        "Accounts > Leaver",
        ("Leaver: disable account on Friday", "Offboarding {team} colleague"),
        "A colleague from {team} leaves us on Friday. Please disable the account at 18:00, "
        "forward mail to the manager and collect the laptop {asset}.",
        "Noted: the account will be disabled on Friday 18:00 and mail forwarded.",
        "Scheduled the disable job; mailbox converted to shared after 30 days.",
        "Also please remove the VPN token.",
        "Account disabled, VPN token revoked, laptop collected. Closing.",
        priority_bias=-1,
    ),
    IssueTemplate(
        "Hardware > Printer",
        ("Printer {printer} shows paper jam", "Cannot print to {printer}", "Printer offline"),
        "The printer {printer} on floor {floor} says paper jam but there is no paper stuck. "
        "Nobody on the floor can print.",
        "Thanks for reporting, a technician is on the way to floor {floor}.",
        "Fuser unit worn, replacement ordered from the vendor (3-5 days).",
        "It printed two pages and jammed again.",
        "The fuser unit was replaced and the printer tested. Please let us know if it recurs.",
        weight=2.5,
    ),
    IssueTemplate(
        "Hardware > Laptop",
        ("Laptop {asset} won't boot", "Laptop battery drains in an hour", "Broken screen"),
        "My laptop {asset} shows a black screen after the logo and restarts. I have a customer "
        "presentation tomorrow, please help.",
        "Sorry to hear that. Please bring the laptop to the IT desk on floor {floor}.",
        "Disk SMART errors, swapping the SSD and restoring from OneDrive.",
        "I'll come by at 2pm, is that OK?",
        "The SSD was replaced and your files restored from OneDrive. You're good to go.",
        priority_bias=1,
        weight=2,
    ),
    IssueTemplate(
        "Hardware > Monitor",
        ("Second monitor not detected", "Docking station: no display"),
        "Since the update yesterday my second monitor stays black when I dock the laptop {asset}.",
        "Could you try another cable and tell us the dock model?",
        "Known issue with dock firmware 1.0.8; update to 1.1.2 fixes it.",
        "Another cable didn't help. The dock is a WD19.",
        "We updated the dock firmware remotely; the monitor works again.",
        priority_bias=-1,
    ),
    IssueTemplate(
        "Hardware > Meeting room",
        ("Projector in {room} has no signal", "Video conference in {room} has no sound"),
        "The screen in meeting room {room} says no signal with HDMI and the room is booked "
        "for a client meeting at 14:00.",
        "On our way to {room} now.",
        "HDMI switcher failed, replaced with spare from the store room.",
        "Thanks, the meeting starts in 20 minutes.",
        "The HDMI switcher was replaced; the room works again.",
        priority_bias=1,
    ),
    IssueTemplate(
        "Network > VPN",
        ("Cannot connect to VPN from home", "VPN disconnects every 10 minutes"),
        "Working from home today and the VPN fails with error {error}. Internet works fine.",
        "Could you send us a screenshot of the error and your client version?",
        "Client 4.9 has the DTLS bug; push 5.1 through Intune.",
        "Screenshot attached. The version is 4.9.",
        "We pushed the new VPN client to your laptop; please restart and connect again.",
        priority_bias=1,
        weight=2.5,
    ),
    IssueTemplate(
        "Network > Wi-Fi",
        ("Wi-Fi very slow on floor {floor}", "Cannot join the guest Wi-Fi"),
        "The Wi-Fi on floor {floor} is extremely slow since Monday; video calls keep freezing.",
        "We're checking the access points on floor {floor}.",
        "AP-{floor}-03 on channel 6 overloaded; moved to auto channel, 5 GHz preferred.",
        "It's better in the morning but slow again after lunch.",
        "We added an access point near the meeting rooms; speeds are back to normal.",
        weight=1.5,
    ),
    IssueTemplate(
        "Network > Shared drive",
        ("Shared drive {share} not mapped", "Cannot open files on {share}"),
        "After the reboot the drive {share} is gone from Explorer. I need the files for the "
        "month-end close.",
        "Please try: Start > Run > {share}. Does that open it?",
        "GPO drive mapping failed: user missing from the {team} security group.",
        "It says access denied.",
        "You were missing from the {team} group after the reorganisation; fixed.",
    ),
    IssueTemplate(
        "Network > Internet",
        ("No internet in the {site} office", "Internet down at {site}"),
        "The whole {site} office has no internet since 9:00. Phones work.",
        "We see the link down and opened a case with the carrier.",
        "Carrier case opened, fibre cut in the street, ETA 4 hours. Failover LTE active.",
        "Is there an update? People are going home.",
        "The carrier repaired the fibre; the primary line is back and failover ended.",
        priority_bias=2,
        weight=0.5,
    ),
    IssueTemplate(
        "Software > Office",
        ("{app} crashes when opening attachments", "{app} keeps asking for my password"),
        "{app} crashes every time I open an attachment from an external sender. I reinstalled "
        "it but nothing changed.",
        "Could you try starting {app} in safe mode and tell us if it still crashes?",
        "Faulty add-in (PDF converter 2.3); disabled by policy for the pilot group.",
        "In safe mode it works fine.",
        "We disabled the faulty add-in; {app} is stable again. Closing.",
        weight=2.5,
    ),
    IssueTemplate(
        "Software > Install request",
        ("Please install {app}", "Request: licence for {app}"),
        "For my new project I need {app} installed on {asset}. My manager approved the cost.",
        "We'll install it tonight through the software centre.",
        "Licence taken from the pool; cost centre {floor}00 to be charged.",
        "Thanks! Will it be there tomorrow morning?",
        "{app} is installed on {asset}; you'll find it in the Start menu.",
        priority_bias=-1,
        weight=2,
    ),
    IssueTemplate(
        "Software > Business apps",
        ("{app}: error {error} when saving", "{app} report is empty since the update"),
        "When I save an order in {app} I get error {error}. Colleagues in {team} have the same "
        "problem since this morning.",
        "Thanks, several colleagues report the same; we're investigating with the vendor.",
        "Vendor ticket VND-{floor}8812 opened; hotfix expected this week.",
        "Any news? We cannot invoice.",
        "The vendor's hotfix is installed and saving works again.",
        priority_bias=1,
        weight=1.5,
    ),
    IssueTemplate(
        "E-mail > Mailbox",
        ("Mailbox full, cannot send", "Shared mailbox not visible in {app}"),
        "I get a warning that my mailbox is full and I can't send anything.",
        "We've raised your quota temporarily; please archive older mail.",
        "Mailbox 49.5/50 GB; online archive enabled.",
        "Where do I find the archive?",
        "Your online archive is enabled and appears under your mailbox in Outlook.",
    ),
    IssueTemplate(
        "E-mail > Mobile setup",
        ("Set up company mail on my iPhone", "Mail stopped syncing on Android"),
        "My phone stopped receiving company mail yesterday. Calendar still works.",
        "Please remove the account on the phone and add it again via the Company Portal app.",
        "Device was quarantined by Intune: OS too old, asked user to update.",
        "It says my device doesn't meet the requirements.",
        "After the OS update your phone is compliant and mail syncs again.",
        priority_bias=-1,
    ),
    IssueTemplate(
        "Security > Phishing",
        ("Suspicious e-mail asking for my password", "Did I click a phishing link?"),
        "I got an e-mail that looks like it's from IT asking me to confirm my password. I "
        "clicked the link but didn't type anything.",
        "Thank you for reporting. Please don't use the link; we're checking the message.",
        "Campaign blocked at the gateway, 37 recipients; URL added to the block list.",
        "Should I change my password anyway?",
        "We removed the message from all mailboxes. Changing your password is a good idea.",
        priority_bias=1,
    ),
    IssueTemplate(
        "Security > Malware",
        ("Antivirus alert on {asset}", "Pop-ups everywhere on my laptop"),
        "The antivirus on {asset} showed a red alert about a threat and quarantined a file.",
        "We're isolating the laptop remotely as a precaution; please don't shut it down.",
        "Defender: Trojan:Win32/Wacatac in Downloads, quarantined; full scan clean.",
        "I can't reach anything now.",
        "The scan is clean and the laptop is released from isolation.",
        priority_bias=2,
        weight=0.5,
    ),
    IssueTemplate(
        "Infrastructure > Servers",
        ("Server slow: {app} times out", "Disk space alert on app server"),
        "{app} has been timing out for everyone in {team} since 10:00.",
        "We're looking at the application server now.",
        "Disk D: 98% full on APP-{floor}2: log rotation broken since the patch window.",
        "It's getting worse.",
        "Logs were rotated and monitoring fixed; {app} responds normally.",
        priority_bias=2,
        weight=0.7,
    ),
    IssueTemplate(
        "Infrastructure > Backup",
        ("Restore a deleted folder on {share}", "Need a file back from last week"),
        "I accidentally deleted a folder on {share} yesterday afternoon. Can you restore it?",
        "Sure, which folder exactly and when did you last see it?",
        "Restore from Veeam snapshot of 02:00, into a _restored subfolder.",
        "The folder was called 'Q3 budget', it was there yesterday at 15:00.",
        "The folder is restored under {share}\\_restored. Please check it's complete.",
    ),
)

ZH_ISSUES = (
    IssueTemplate(
        "Accounts > Password reset",
        ("账号被锁定，无法登录", "密码过期了，登不上电脑", "忘记密码，请帮忙重置"),
        "早上开机提示密码错误，试了几次后账号被锁定了，麻烦帮我重置一下密码。电脑编号 {asset}。",
        "您好，账号已解锁，临时密码已通过短信发送到您的手机，首次登录请修改。",
        "AD 显示手机邮件客户端用旧密码反复尝试导致锁定。",
        "已经可以登录了，手机上也需要改密码吗？",
        "需要的，请在手机邮件应用里更新密码，否则会再次被锁定。此工单关闭。",
        weight=3,
    ),
    IssueTemplate(
        "Accounts > Access request",
        ("申请 {share} 的访问权限", "请开通{team}共享邮箱权限"),
        "我刚调到{team}部门，需要访问 {share} 和{team}的共享邮箱，领导已经同意。",
        "权限需要数据负责人审批，请您的主管在工单里确认一下。",
        "{share} 的负责人是{team}主管，按权限制度需审批。",
        "主管已经邮件批准，我转发给服务台了。",
        "已将您加入{team}权限组，请注销后重新登录即可看到共享盘。",
        priority_bias=-1,
        weight=2,
    ),
    IssueTemplate(
        "Hardware > Printer",
        ("{floor}楼打印机卡纸", "打印机 {printer} 无法打印", "打印机显示脱机"),
        "{floor}楼的打印机 {printer} 一直提示卡纸，但是里面没有纸，整层都打印不了。",
        "收到，工程师马上到{floor}楼处理。",
        "定影组件老化，已向厂商订购备件，预计3到5天到货。",
        "打了两页又卡纸了。",
        "已更换定影组件并测试正常，如再出现请告诉我们。",
        weight=2.5,
    ),
    IssueTemplate(
        "Hardware > Laptop",
        ("笔记本电脑 {asset} 无法开机", "电脑蓝屏", "笔记本电池不耐用"),
        "我的笔记本 {asset} 开机后黑屏然后自动重启，明天要给客户做演示，请尽快帮忙。",
        "请把电脑带到{floor}楼IT服务台，我们马上检查。",
        "硬盘 SMART 报错，更换固态硬盘并从 OneDrive 恢复数据。",
        "我下午两点过去可以吗？",
        "已更换硬盘并恢复文件，电脑可以正常使用了。",
        priority_bias=1,
        weight=2,
    ),
    IssueTemplate(
        "Hardware > Meeting room",
        ("{room}会议室投影仪没有信号", "会议室视频会议没有声音"),
        "{room}会议室的投影仪接 HDMI 显示无信号，下午两点有客户会议。",
        "我们马上到{room}会议室。",
        "HDMI 切换器损坏，已用库房备件更换。",
        "会议还有二十分钟开始。",
        "已更换切换器，会议室设备恢复正常。",
        priority_bias=1,
    ),
    IssueTemplate(
        "Network > VPN",
        ("在家无法连接VPN", "VPN 每隔十分钟断开一次"),
        "今天在家办公，VPN 连接失败，提示错误 {error}，网络本身是正常的。",
        "请发一下报错截图和客户端版本号。",
        "4.9 版客户端有 DTLS 问题，通过 Intune 推送 5.1。",
        "截图已附上，版本是 4.9。",
        "新版 VPN 客户端已推送到您的电脑，重启后再连接即可。",
        priority_bias=1,
        weight=2.5,
    ),
    IssueTemplate(
        "Network > Wi-Fi",
        ("{floor}楼无线网络很慢", "访客 Wi-Fi 连不上"),
        "从周一开始{floor}楼的无线网络特别慢，视频会议经常卡住。",
        "我们正在检查{floor}楼的无线接入点。",
        "AP-{floor}-03 信道6过载，已改为自动信道并优先5GHz。",
        "早上好一些，午饭后又变慢了。",
        "已在会议室附近增加一个接入点，网速恢复正常。",
        weight=1.5,
    ),
    IssueTemplate(
        "Network > Shared drive",
        ("共享盘 {share} 不见了", "打不开共享盘上的文件"),
        "电脑重启后资源管理器里看不到 {share} 了，月底结账急需里面的文件。",
        "请试一下：开始 > 运行 > 输入 {share}，能打开吗？",
        "组策略映射失败：用户不在{team}安全组里。",
        "提示拒绝访问。",
        "组织调整后您不在{team}组中，已修复，请重新登录。",
    ),
    IssueTemplate(
        "Software > Office",
        ("{app} 打开附件就崩溃", "{app} 一直提示输入密码"),
        "打开外部发来的附件时 {app} 每次都会崩溃，重装过也没用。",
        "请用安全模式启动 {app} 试试看是否还会崩溃。",
        "PDF 转换插件 2.3 有问题，已通过策略对试点组禁用。",
        "安全模式下是正常的。",
        "已禁用有问题的插件，{app} 恢复稳定，工单关闭。",
        weight=2.5,
    ),
    IssueTemplate(
        "Software > Install request",
        ("申请安装 {app}", "请开通 {app} 账号"),
        "新项目需要在电脑 {asset} 上安装 {app}，费用领导已经批准。",
        "我们今晚通过软件中心为您安装。",
        "从许可池分配许可证，成本中心 {floor}00。",
        "谢谢！明早能用吗？",
        "{app} 已安装在 {asset} 上，可以在开始菜单中找到。",
        priority_bias=-1,
        weight=2,
    ),
    IssueTemplate(
        "Software > Business apps",
        ("{app} 保存时报错 {error}", "ERP 系统无法登录"),
        "在 {app} 保存订单时提示错误 {error}，{team}部门的同事从早上开始都有这个问题。",
        "收到，多位同事反映同样问题，我们正在和厂商一起排查。",
        "已向厂商提交工单 VND-{floor}8812，补丁预计本周发布。",
        "有进展吗？现在没法开票。",
        "厂商补丁已安装，保存功能恢复正常。",
        priority_bias=1,
        weight=1.5,
    ),
    IssueTemplate(
        "E-mail > Mailbox",
        ("邮箱已满，无法发送邮件", "无法登录企业邮箱"),
        "收到邮箱已满的提示，现在什么邮件都发不出去。",
        "已临时提高您的邮箱配额，请归档较早的邮件。",
        "邮箱 49.5/50 GB，已启用在线存档。",
        "存档在哪里可以找到？",
        "在线存档已启用，在 Outlook 中您的邮箱下方可以看到。",
    ),
    IssueTemplate(
        "Security > Phishing",
        ("收到可疑邮件要求输入密码", "我可能点了钓鱼链接"),
        "收到一封看起来是IT部门发的邮件，要求确认密码。我点了链接但没有输入任何内容。",
        "感谢报告，请不要再打开该链接，我们正在检查这封邮件。",
        "邮件网关已拦截该活动，共37个收件人，URL 已加入黑名单。",
        "我需要修改密码吗？",
        "已从所有邮箱删除该邮件，建议您修改一下密码。",
        priority_bias=1,
    ),
    IssueTemplate(
        "Infrastructure > Backup",
        ("恢复 {share} 上误删的文件夹", "需要找回上周的文件"),
        "昨天下午不小心删除了 {share} 上的一个文件夹，能帮忙恢复吗？",
        "可以的，请告诉我们具体是哪个文件夹，最后一次看到是什么时候？",
        "从凌晨2点的 Veeam 快照恢复到 _restored 子目录。",
        "文件夹叫“三季度预算”，昨天下午三点还在。",
        "文件夹已恢复到 {share}\\_restored，请检查是否完整。",
    ),
)

EN_CHASERS = (
    "Any update on this? It's still not working.",
    "Just following up: is someone looking at it?",
    "Adding a screenshot of the error I see.",
)
ZH_CHASERS = ("请问有进展了吗？问题还在。", "跟进一下，有人在处理吗？", "补充一张报错截图。")
EN_TRIAGE = "Triage: checked the user's details, assigning by category."
ZH_TRIAGE = "分诊：已核对用户信息，按类别分派。"
EN_HOLD = "On hold: waiting for the vendor's spare part / fix."
ZH_HOLD = "挂起：等待厂商备件或补丁。"

EN_FIRST = (
    "James", "Olivia", "Mohammed", "Emma", "Lucas", "Sophie", "Daniel", "Amelia", "Noah",
    "Isla", "Ravi", "Hannah", "Tom", "Grace", "Jonas", "Eva", "Pieter", "Lotte", "Omar", "Chloe",
)  # fmt: skip
EN_LAST = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Wright", "de Vries", "Jansen", "Bakker", "Novak", "Haddad", "Schmidt", "Martin", "Okafor",
)  # fmt: skip
ZH_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
ZH_GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明", "超", "晓")

EN_ORG_WORDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne",
    "Soylent", "Hooli", "Vandelay", "Massive", "Oscorp", "Gringotts", "Dunder", "Nakatomi",
)  # fmt: skip
EN_ORG_KINDS = (
    "Manufacturing", "Logistics", "Holdings", "Foods", "Energy", "Retail", "Insurance",
    "Healthcare", "Consulting", "Engineering",
)  # fmt: skip
ZH_CITIES = ("上海", "北京", "深圳", "杭州", "广州", "成都", "南京", "苏州", "武汉", "西安")
ZH_ORG_WORDS = ("华讯", "恒通", "远景", "鼎盛", "瑞丰", "天成", "海纳", "金桥", "嘉禾", "新元")
ZH_ORG_KINDS = ("科技", "物流", "制造", "贸易", "医药", "电子")
