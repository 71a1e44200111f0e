"""Knowledge-base articles for the demo: the fixes for the calls a help desk gets most, in
English and in Simplified Chinese, written through the services like everything else there."""

from dataclasses import dataclass

from firstline.accounts.models import Organization, User
from firstline.tickets.models import Category, Status, Ticket

from . import services
from .models import ArticleStatus, Language, Visibility

EN, ZH = Language.ENGLISH, Language.CHINESE


@dataclass(frozen=True)
class DemoArticle:
    title: str
    category: str  # the category's full name, e.g. "Network > VPN"
    language: str
    tags: tuple[str, ...]
    body: str
    visibility: str = Visibility.PUBLIC
    organization: str | None = None  # slug, for articles limited to one client


ARTICLES = (
    DemoArticle(
        "Reset your password",
        "Accounts > Password reset",
        EN,
        ("password", "account"),
        """You can reset your own password at any time, without calling the help desk.

## Steps

1. Go to the **self-service password page** (the "Forgot password?" link on the sign-in page).
2. Enter your work e-mail address and complete the verification (authenticator app or text message).
3. Choose a new password: **at least 12 characters**, not one of your last 5 passwords.
4. Sign out of Windows and sign in again with the new password.

## After the reset

- On your **phone**, mail and Teams will ask for the new password: enter it there too.
- On a **laptop away from the office**, connect to the VPN first and lock and unlock the
  screen (Windows+L) so that Windows learns the new password.

## Still locked out?

After 5 wrong attempts your account is locked for 15 minutes. If you cannot verify your
identity, submit a request: an agent will call you back to confirm who you are.
""",
    ),
    DemoArticle(
        "Your account is locked: what to do",
        "Accounts > Password reset",
        EN,
        ("password", "lockout"),
        """An account locks after **5 wrong passwords in 10 minutes**. It unlocks by itself after
15 minutes.

Most lockouts come from a device that still uses your **old password**:

- a phone or tablet with your work mail,
- a mapped network drive or a saved Wi-Fi profile,
- a second computer you are still signed in to.

## Fix

1. Wait 15 minutes, then reset your password (see *Reset your password*).
2. Update the password on every device above, or remove the work account there and add it again.
3. On Windows, open **Credential Manager > Windows Credentials** and remove old entries that
   name our domain.

If it locks again within an hour, submit a request: we can see which device sends the wrong
password.
""",
    ),
    DemoArticle(
        "Connect to the VPN from home",
        "Network > VPN",
        EN,
        ("vpn", "remote"),
        """The VPN gives you access to shared drives and internal applications from outside the
office.

## First time

1. Install **GlobalProtect** from the Software Center (Windows) or Self Service (Mac).
2. Open it and enter the portal address **vpn.example.com**.
3. Sign in with your work e-mail and password, and approve the MFA prompt.

## Every day

Click the GlobalProtect icon near the clock and choose **Connect**. The icon shows a shield when
you are connected.

## It does not connect

- Check that you are online: open any public web site.
- Hotel and guest networks may need you to accept their terms in a browser first.
- Restart GlobalProtect (right-click the icon, *Disable*, then *Enable*).
- Check the date and time of your computer: a wrong clock breaks the sign-in.

Still failing? Submit a request with a screenshot of the error message.
""",
    ),
    DemoArticle(
        "VPN connects but shared drives do not open",
        "Network > Shared drive",
        EN,
        ("vpn", "shared drive"),
        """When the VPN shows *Connected* but `S:` or `H:` stay red:

1. Open File Explorer and type the path directly, e.g. `\\\\files.example.com\\shared`.
2. If that works, reconnect the drive: right-click **This PC > Map network drive**, letter `S:`,
   the path above, tick *Reconnect at sign-in*.
3. If you changed your password recently, lock and unlock the screen (Windows+L) while
   connected to the VPN.
4. Sign out and in again: drives are mapped when you sign in.

If the path itself does not open, tell us the exact path and the error in a request.
""",
    ),
    DemoArticle(
        "Printer jams or prints blank pages",
        "Hardware > Printer",
        EN,
        ("printer", "paper jam"),
        """## Paper jam

1. Open the door the printer's display shows and pull the paper **in the direction it travels**,
   slowly and with both hands.
2. Check the tray: fan the paper, do not fill above the line, and set the guides against the stack.
3. Use 80 g/m² paper; labels and thick paper go through the manual feed only.

## Blank or faded pages

- Take the toner cartridge out, shake it gently side to side, and put it back.
- Print a configuration page from the printer's menu: if it is blank too, the toner or drum
  needs replacing. Submit a request with the printer's asset number (sticker on the front).

If the same tray jams on every page, stop using it and tell us which tray.
""",
    ),
    DemoArticle(
        "Add a network printer to your computer",
        "Hardware > Printer",
        EN,
        ("printer", "install"),
        """## Windows

1. Open **Settings > Bluetooth & devices > Printers & scanners**.
2. Click **Add device**. Office printers appear as `PRN-<floor>-<number>`.
3. If yours is not listed, choose *Add manually*, then *Select a shared printer by name*, and
   enter `\\\\print.example.com\\PRN-3-01` (use the name on the printer's sticker).

## Mac

Open **System Settings > Printers & Scanners > Add Printer**, choose the printer from the list
and select *Secure Print* as the driver if asked.

## Secure print

Documents wait on the print server until you tap your badge on the printer. They are deleted
after 24 hours.
""",
    ),
    DemoArticle(
        "Set up work e-mail on your phone",
        "E-mail > Mobile setup",
        EN,
        ("e-mail", "phone", "outlook"),
        """Use the **Microsoft Outlook** app: the built-in mail apps are not allowed for work mail.

## iPhone and Android

1. Install *Microsoft Outlook* and *Microsoft Authenticator* from the App Store or Google Play.
2. Open Outlook, tap **Add account** and enter your work e-mail address.
3. Sign in and approve the request in Authenticator.
4. When asked, allow the app to be protected by the company (Intune): it keeps work data in
   work apps and can wipe only that data if the phone is lost.

## Calendar and contacts

They are in Outlook. To see work meetings in the phone's own calendar, go to Outlook settings,
your account, and turn on **Sync calendars**.

Lost your phone? Submit an urgent request at once so that we remove the work data.
""",
    ),
    DemoArticle(
        "Your new laptop: the first day",
        "Hardware > Laptop",
        EN,
        ("laptop", "new starter"),
        """Welcome! Your laptop is ready to use; this is what to do first.

1. Connect to the **office Wi-Fi** (`CORP`) or to the VPN if you are at home.
2. Sign in with your work e-mail address and the temporary password from your manager, then
   choose your own password.
3. Set up **Windows Hello** (face or PIN) when asked.
4. Wait for the setup to finish: Office, Teams and the VPN install by themselves in about 30
   minutes. Keep the laptop on power and connected.
5. Sign in to Outlook and Teams.
6. Save your files in **OneDrive**: they are backed up and follow you to a new laptop.

Missing an application? See *Install software from the Software Center*.
""",
    ),
    DemoArticle(
        "Move your files to a new laptop",
        "Hardware > Laptop",
        EN,
        ("laptop", "onedrive"),
        """On the **old** laptop:

1. Make sure OneDrive is running (cloud icon near the clock) and shows *Up to date*.
2. Move anything stored outside OneDrive (e.g. `C:\\Temp` or the Downloads folder) into
   OneDrive > Documents.
3. In the browser, export bookmarks you need, or sign in to the browser so they sync.

On the **new** laptop, sign in to OneDrive: your Desktop, Documents and Pictures come back.

Hand the old laptop to the help desk; we wipe it after 14 days.
""",
    ),
    DemoArticle(
        "Connect to the office Wi-Fi",
        "Network > Wi-Fi",
        EN,
        ("wi-fi", "wireless"),
        """- **CORP**: for company laptops. It connects by itself with your work account; no \
password.
- **GUEST**: for visitors and personal phones. Ask reception for the day's code.

## CORP does not connect

1. Turn Wi-Fi off and on.
2. Forget the network: *Settings > Network > Wi-Fi > Manage known networks > CORP > Forget*,
   then connect again and sign in with your work e-mail and password.
3. If you changed your password today, connect with a cable or to GUEST + VPN once, then lock
   and unlock the screen.

If colleagues next to you have no Wi-Fi either, submit a request with your floor and room.
""",
    ),
    DemoArticle(
        "Install software from the Software Center",
        "Software > Install request",
        EN,
        ("software", "install"),
        """Approved software installs without an administrator.

1. Press the Windows key and type **Software Center**.
2. Find the application under *Applications*, click it and click **Install**.
3. Leave the laptop on until it says *Installed*; some installs ask for a restart.

## Not in the list?

Submit a request with the name of the software, what you need it for and whether it needs a
licence. Free tools are usually approved in one day; paid ones need your manager's approval.
""",
    ),
    DemoArticle(
        "Set up multi-factor authentication (MFA)",
        "Accounts > MFA",
        EN,
        ("mfa", "authenticator"),
        """1. Install **Microsoft Authenticator** on your phone.
2. On a computer, open **mysignins.example.com/security-info** and sign in.
3. Click **Add sign-in method > Authenticator app** and scan the QR code with the app.
4. Approve the test notification.

Add your mobile number as a second method, so that you are not locked out if the app is gone.

**New phone?** Add the new phone in the same page *before* you reset the old one. If it is
too late, submit a request: we reset your MFA after checking who you are.
""",
    ),
    DemoArticle(
        "Recognise and report phishing e-mail",
        "Security > Phishing",
        EN,
        ("security", "phishing"),
        """Be suspicious of mail that:

- asks you to sign in, pay, or open an attachment **urgently**;
- comes from an address that is almost right (`examp1e.com`);
- has a link whose real address (hover over it) is not where it says.

## Report it

Click **Report > Phishing** in Outlook. This removes it from your inbox and sends it to us.

## You clicked or entered your password?

Do not wait: reset your password at once and submit an **urgent** request saying what you
clicked. Quick reports make the damage small; nobody gets in trouble for reporting.
""",
    ),
    DemoArticle(
        "Your mailbox is full",
        "E-mail > Mailbox",
        EN,
        ("e-mail", "quota"),
        """Mailboxes hold 50 GB. When it is nearly full, Outlook warns you and then stops sending.

1. Empty **Deleted Items** and **Junk**.
2. Search `size:>10MB` and save large attachments to OneDrive, then delete the mails.
3. Turn on the **Online Archive**: move old folders there; they stay searchable.

Shared mailboxes work the same way; ask their owner to clean up.
""",
    ),
    DemoArticle(
        "Meeting room screen shows no picture",
        "Hardware > Meeting room",
        EN,
        ("meeting room", "display"),
        """1. Wake the room panel by touching it, then choose **Share screen**.
2. With a cable, use the **USB-C/HDMI** cable on the table and press *Windows+P > Duplicate*.
3. Check the screen's input with the remote (*HDMI 1* for the table cable).

Nothing works? Join the meeting from Teams on the room device instead, and submit a request
with the room name so that we check it.
""",
    ),
    DemoArticle(
        "Restart the print spooler (agents)",
        "Hardware > Printer",
        EN,
        ("printer", "runbook"),
        """For agents: when a whole floor cannot print and the printer itself is fine.

1. Remote to `print01` with your admin account.
2. In an elevated PowerShell: `Restart-Service -Name Spooler -Force`.
3. If jobs stay stuck: stop the service, delete the files in
   `C:\\Windows\\System32\\spool\\PRINTERS`, start it again.
4. Note the restart on the ticket and link any duplicates to the first ticket.

If it happens more than twice a week, escalate to Infrastructure.
""",
        visibility=Visibility.INTERNAL,
    ),
    DemoArticle(
        "重置密码",
        "Accounts > Password reset",
        ZH,
        ("密码", "账户"),
        """您可以随时自助重置密码，无需联系服务台。

## 步骤

1. 打开**自助密码重置页面**（登录页上的“忘记密码？”链接）。
2. 输入您的工作邮箱地址，完成验证（身份验证器应用或短信验证码）。
3. 设置新密码：**至少 12 个字符**，且不能与最近 5 次使用的密码相同。
4. 注销 Windows，然后用新密码重新登录。

## 重置之后

- **手机**上的邮件和 Teams 会提示输入新密码，请同样更新。
- 如果您**不在办公室**，请先连接 VPN，再按 Windows+L 锁屏并解锁，让电脑记住新密码。

## 仍然无法登录？

连续输错 5 次密码后，账户会被锁定 15 分钟。如果无法完成身份验证，请提交请求，\
工程师会回电核实您的身份。
""",
    ),
    DemoArticle(
        "账户被锁定怎么办",
        "Accounts > Password reset",
        ZH,
        ("密码", "锁定"),
        """**10 分钟内输错 5 次密码**，账户就会被锁定，15 分钟后自动解锁。

大多数锁定是因为某台设备还在使用**旧密码**：

- 配置了工作邮箱的手机或平板；
- 映射的网络驱动器或保存的 Wi-Fi 配置；
- 另一台仍处于登录状态的电脑。

## 解决方法

1. 等待 15 分钟，然后重置密码（参见《重置密码》）。
2. 在上述每台设备上更新密码，或删除工作账户后重新添加。
3. 在 Windows 中打开**凭据管理器 > Windows 凭据**，删除与公司域相关的旧凭据。

如果一小时内再次被锁定，请提交请求，我们可以查到是哪台设备在发送错误密码。
""",
    ),
    DemoArticle(
        "在家连接 VPN",
        "Network > VPN",
        ZH,
        ("VPN", "远程办公"),
        """通过 VPN，您可以在办公室以外访问共享盘和内部系统。

## 首次使用

1. 从软件中心（Windows）或 Self Service（Mac）安装 **GlobalProtect**。
2. 打开后输入门户地址 **vpn.example.com**。
3. 用工作邮箱和密码登录，并在手机上批准多重身份验证请求。

## 日常使用

点击任务栏时钟旁的 GlobalProtect 图标，选择**连接**。连接成功后图标会显示盾牌。

## 无法连接

- 先确认网络正常：打开任意公共网站试试。
- 酒店或访客网络可能需要先在浏览器中同意使用条款。
- 重启 GlobalProtect（右键图标，先“禁用”再“启用”）。
- 检查电脑的日期和时间：时间不对会导致登录失败。

仍然失败？请提交请求，并附上错误信息的截图。
""",
    ),
    DemoArticle(
        "VPN 已连接但打不开共享盘",
        "Network > Shared drive",
        ZH,
        ("VPN", "共享盘"),
        """VPN 显示“已连接”，但 `S:` 或 `H:` 盘仍然是红叉时：

1. 打开文件资源管理器，直接输入路径，例如 `\\\\files.example.com\\shared`。
2. 如果可以打开，请重新映射：右键**此电脑 > 映射网络驱动器**，盘符选 `S:`，填入上面的路径，\
勾选“登录时重新连接”。
3. 如果最近改过密码，请在连接 VPN 的状态下按 Windows+L 锁屏再解锁。
4. 注销后重新登录：共享盘在登录时自动映射。

如果路径本身也打不开，请在请求中写明完整路径和错误提示。
""",
    ),
    DemoArticle(
        "打印机卡纸或打印空白页",
        "Hardware > Printer",
        ZH,
        ("打印机", "卡纸"),
        """## 卡纸

1. 打开打印机屏幕提示的舱门，双手**顺着走纸方向**慢慢抽出纸张。
2. 检查纸盒：把纸抖松，不要超过装纸线，并把导板靠紧纸叠。
3. 请使用 80 克纸；标签纸和厚纸只能从手动进纸口放入。

## 打印空白或字迹很淡

- 取出墨粉盒，左右轻轻摇匀后装回。
- 从打印机菜单打印一张配置页：如果也是空白的，说明墨粉或硒鼓需要更换。请提交请求，\
并写明打印机正面标签上的资产编号。

如果同一个纸盒每页都卡纸，请停止使用该纸盒，并告诉我们是哪一个。
""",
    ),
    DemoArticle(
        "打印机无法连接：添加网络打印机",
        "Hardware > Printer",
        ZH,
        ("打印机", "安装"),
        """打印机显示“脱机”或找不到打印机时，请重新添加网络打印机。

## Windows

1. 打开**设置 > 蓝牙和其他设备 > 打印机和扫描仪**。
2. 点击**添加设备**。办公室打印机的名称为 `PRN-楼层-编号`。
3. 如果列表中没有，请选择“手动添加”，再选“按名称选择共享打印机”，\
输入 `\\\\print.example.com\\PRN-3-01`（以打印机标签上的名称为准）。

## Mac

打开**系统设置 > 打印机与扫描仪 > 添加打印机**，从列表中选择打印机；如有提示，\
驱动选择 *Secure Print*。

## 安全打印

文件会保留在打印服务器上，直到您在打印机上刷工卡才会打印，24 小时后自动删除。
""",
    ),
    DemoArticle(
        "在手机上设置工作邮箱",
        "E-mail > Mobile setup",
        ZH,
        ("邮箱", "手机", "Outlook"),
        """请使用 **Microsoft Outlook** 应用：工作邮箱不允许使用手机自带的邮件应用。

## iPhone 和安卓手机

1. 从应用商店安装 *Microsoft Outlook* 和 *Microsoft \
Authenticator*（国内安卓手机可从公司内网下载安装包）。
2. 打开 Outlook，点击**添加账户**，输入工作邮箱地址。
3. 登录后在 Authenticator 中批准请求。
4. 出现提示时，允许公司（Intune）保护该应用：工作数据只保存在工作应用中，\
手机丢失时也只会清除这些数据。

## 日历和联系人

都在 Outlook 中。若想在手机自带日历中看到工作会议，请在 Outlook 设置中点击您的账户，\
打开**同步日历**。

手机丢了？请立即提交紧急请求，我们会远程清除工作数据。
""",
    ),
    DemoArticle(
        "新笔记本电脑：第一天要做的事",
        "Hardware > Laptop",
        ZH,
        ("笔记本", "新员工"),
        """欢迎加入！您的电脑已经准备好，请按以下步骤操作：

1. 连接**办公室 Wi-Fi**（`CORP`）；如果在家，请先连接 VPN。
2. 用工作邮箱和经理给您的临时密码登录，然后设置自己的密码。
3. 按提示设置 **Windows Hello**（人脸或 PIN 码）。
4. 等待自动配置完成：Office、Teams 和 VPN 会在约 30 分钟内自动安装，请保持电脑接通电源并联网。
5. 登录 Outlook 和 Teams。
6. 文件请保存在 **OneDrive** 中：有备份，换电脑时也能找回。

缺少某个软件？请参阅《从软件中心安装软件》。
""",
    ),
    DemoArticle(
        "连接办公室 Wi-Fi",
        "Network > Wi-Fi",
        ZH,
        ("Wi-Fi", "无线网络"),
        """- **CORP**：公司电脑专用，使用工作账户自动连接，无需输入密码。
- **GUEST**：供访客和个人手机使用，当天密码请向前台索取。

## 连不上 CORP

1. 关闭 Wi-Fi 再打开。
2. 忘记该网络：*设置 > 网络 > WLAN > 管理已知网络 > CORP > 忘记*，然后重新连接，\
用工作邮箱和密码登录。
3. 如果今天刚改过密码，请先用网线或 GUEST + VPN 连接一次，再锁屏并解锁。

如果旁边的同事也都没有网络，请提交请求并写明楼层和房间号。
""",
    ),
    DemoArticle(
        "无线网络频繁掉线",
        "Network > Wi-Fi",
        ZH,
        ("Wi-Fi", "掉线"),
        """笔记本电脑 Wi-Fi 时断时续时，请依次尝试：

1. 在**设置 > 网络和 Internet > WLAN > 硬件属性**中确认连接的是 5 GHz 频段；\
信号弱时请靠近无线接入点。
2. 在电源选项中选择“最佳性能”，并在设备管理器的无线网卡属性中取消“允许计算机关闭此设备以节约电源”。
3. 打开软件中心，安装“无线网卡驱动更新”。
4. 重启电脑。

如果只在某个会议室或区域掉线，请提交请求并写明位置，我们会检查该处的无线接入点。
""",
    ),
    DemoArticle(
        "从软件中心安装软件",
        "Software > Install request",
        ZH,
        ("软件", "安装"),
        """已批准的软件无需管理员权限即可安装。

1. 按 Windows 键，输入**软件中心**。
2. 在“应用程序”中找到所需软件，点击后选择**安装**。
3. 保持电脑开机，直到显示“已安装”；部分软件需要重启。

## 列表里没有？

请提交请求，写明软件名称、用途以及是否需要许可证。免费软件通常一个工作日内批准；\
付费软件需要您的经理审批。
""",
    ),
    DemoArticle(
        "设置多重身份验证（MFA）",
        "Accounts > MFA",
        ZH,
        ("MFA", "身份验证"),
        """1. 在手机上安装 **Microsoft Authenticator**。
2. 在电脑上打开 **mysignins.example.com/security-info** 并登录。
3. 点击**添加登录方法 > 身份验证器应用**，用应用扫描二维码。
4. 批准测试通知。

建议再添加手机号作为第二种验证方式，这样即使应用丢失也不会被锁在外面。

**换新手机？**请在重置旧手机**之前**，先在同一页面添加新手机。如果已经来不及，请提交请求，\
我们核实身份后为您重置 MFA。
""",
    ),
    DemoArticle(
        "识别并举报钓鱼邮件",
        "Security > Phishing",
        ZH,
        ("安全", "钓鱼邮件"),
        """遇到以下邮件请提高警惕：

- **催促**您立即登录、付款或打开附件；
- 发件地址与正常地址只差一点（如 `examp1e.com`）；
- 链接的真实地址（鼠标悬停查看）与显示的文字不一致。

## 如何举报

在 Outlook 中点击**报告 > 网络钓鱼**。邮件会从收件箱中移除并发送给我们。

## 已经点击了链接或输入了密码？

不要等待：立即重置密码，并提交**紧急**请求说明您点击了什么。及时报告能把损失降到最小，\
举报不会受到任何责备。
""",
    ),
    DemoArticle(
        "邮箱已满无法发送邮件",
        "E-mail > Mailbox",
        ZH,
        ("邮箱", "容量"),
        """每个邮箱容量为 50 GB。快满时 Outlook 会提醒，满了之后将无法发送邮件。

1. 清空**已删除邮件**和**垃圾邮件**文件夹。
2. 搜索 `size:>10MB`，把大附件另存到 OneDrive 后删除这些邮件。
3. 启用**在线存档**：把旧文件夹移入存档，仍然可以搜索。

共享邮箱同理，请联系邮箱负责人清理。
""",
    ),
    DemoArticle(
        "Office 激活失败或提示“产品未授权”",
        "Software > Office",
        ZH,
        ("Office", "激活"),
        """Word、Excel 顶部出现“产品未授权”或“需要激活”时：

1. 打开任意 Office 应用，点击**文件 > 账户**，确认登录的是工作邮箱而不是个人账户。
2. 如果显示的是其他账户，请点击**注销**，关闭所有 Office 应用后重新打开并用工作邮箱登录。
3. 连接 VPN 或公司网络后，点击**更新选项 > 立即更新**。
4. 仍然不行，请在软件中心中运行“Office 修复”。

每人最多可在 5 台设备上激活 Office。若超出数量，\
请在 **portal.office.com > 我的账户 > 应用和设备** 中停用不再使用的设备。
""",
    ),
    DemoArticle(
        "会议室屏幕无画面",
        "Hardware > Meeting room",
        ZH,
        ("会议室", "投屏"),
        """1. 轻触会议室控制面板将其唤醒，选择**共享屏幕**。
2. 使用有线投屏时，请使用桌上的 **USB-C/HDMI** 线，并按 *Windows+P > 复制*。
3. 用遥控器检查屏幕的信号源（桌面线缆对应 *HDMI 1*）。

仍然不行？请改用会议室设备上的 Teams 入会，并提交请求写明会议室名称，我们会安排检查。
""",
    ),
    DemoArticle(
        "上海办公室：访客 Wi-Fi 与打印说明",
        "Network > Wi-Fi",
        ZH,
        ("Wi-Fi", "上海"),
        """本文仅适用于上海华讯科技办公室。

- 访客 Wi-Fi 名称为 **HX-GUEST**，密码每周一更新，张贴在前台。
- 员工电脑请连接 **HX-CORP**，使用工作账户自动登录。
- 12 楼打印机为 `PRN-12-01`（彩色）和 `PRN-12-02`（黑白），添加方法见《打印机无法连接：\
添加网络打印机》。
- 现场技术支持：工作日 9:00–18:00，位于 12 楼 1205 室，也可以在门户中提交请求。
""",
        visibility=Visibility.ORGANIZATIONS,
        organization="huaxun",
    ),
)


def create_demo_articles(
    *,
    author: User,
    categories: dict[str, Category],
    organizations: dict[str, Organization],
) -> int:
    """Writes the articles, published, and notes which resolved demo tickets each one solved
    (per category), so that the top issues and the report have something to show."""
    published = []
    for spec in ARTICLES:
        article = services.create_article(
            actor=author,
            title=spec.title,
            body=spec.body,
            language=spec.language,
            visibility=spec.visibility,
            category=categories.get(spec.category),
            tags=spec.tags,
            organizations=[organizations[spec.organization]] if spec.organization else [],
            status=ArticleStatus.PUBLISHED,
        )
        published.append(article)
    _mark_solved_tickets(author, published)
    return len(published)


def _mark_solved_tickets(agent: User, articles: list) -> None:
    """The first article of each category in the tickets' language solved a few of them."""
    first = {}
    for article in articles:
        first.setdefault((article.category_id, article.language), article)
    resolved = Ticket.objects.filter(
        status__in=[Status.RESOLVED, Status.CLOSED], category__isnull=False
    ).order_by("pk")
    for ticket in resolved[:120:3]:
        language = services.language_of(f"{ticket.subject} {ticket.description}")
        article = first.get((ticket.category_id, language))
        if article is not None:
            services.mark_solved(actor=agent, article=article, ticket=ticket)
