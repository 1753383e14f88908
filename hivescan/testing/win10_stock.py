"""Windows 10 services as the project's catalog of expectations describes them (data).

Why: hosts built by :mod:`hivescan.testing.win10` (corpus v3) must raise only the findings
a real host would. Services whose ImagePath or ServiceDll differs from the Windows 10
expectations (``hivescan/catalog/data/windows_expected.csv``, from Trawler) raise
``imagepath-differs-from-windows`` / ``servicedll-differs-from-windows`` on every host, which
a real Windows 10 host does not. So the stock services are the catalog's own: one row per
service the catalog describes with a path under the Windows folder (less a few the catalog
lists that are third-party software installed there), the path being a
concrete instance of its pattern, written as Windows writes it (``%SystemRoot%\...`` for
services, ``System32\drivers\...`` for drivers). Third-party software the catalog also
describes (Program Files) is in :mod:`hivescan.testing.win10`'s vendor pool instead.

Derived once from the catalog (the patterns' alternatives take their first branch, ``.*``
becomes ``-p`` after ``svchost.exe -k GROUP`` or a version/hash elsewhere), and kept here as
data, so the corpus does not change when the catalog does; a test checks that every row
still agrees with the catalog. Columns (tab-separated): name, kind (``driver``, ``svchost``
for a shared svchost service, ``user`` for a per-user service template, ``own`` for a
service in its own process), ImagePath, ServiceDll (empty when none).
"""

from __future__ import annotations

from typing import NamedTuple


class StockService(NamedTuple):
    name: str
    kind: str  # driver, svchost, user or own
    image_path: str
    service_dll: str | None


_ROWS = r"""
xinputhid	driver	System32\drivers\xinputhid.sys	
XboxNetApiSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\XboxNetApiSvc.dll
XboxGipSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\XboxGipSvc.dll
1394ohci	driver	System32\drivers\1394ohci.sys	
3ware	driver	System32\drivers\3ware.sys	
AarSvc	svchost	%SystemRoot%\system32\svchost.exe -k AarSvcGroup -p	%SystemRoot%\System32\AarSvc.dll
AarSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k AarSvcGroup -p	
ACPI	driver	System32\drivers\ACPI.sys	
AcpiDev	driver	System32\drivers\AcpiDev.sys	
acpiex	driver	System32\Drivers\acpiex.sys	
acpipagr	driver	System32\drivers\acpipagr.sys	
AcpiPmi	driver	System32\drivers\acpipmi.sys	
acpitime	driver	System32\drivers\acpitime.sys	
Acx01000	driver	system32\drivers\Acx01000.sys	
ADP80XX	driver	System32\drivers\ADP80XX.SYS	
AFD	driver	system32\drivers\afd.sys	
afunix	driver	system32\drivers\afunix.sys	
ahcache	driver	system32\DRIVERS\ahcache.sys	
AJRouter	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\AJRouter.dll
ALG	own	%SystemRoot%\System32\alg.exe	
amdgpio2	driver	System32\drivers\amdgpio2.sys	
amdi2c	driver	System32\drivers\amdi2c.sys	
AmdK8	driver	System32\drivers\amdk8.sys	
AmdPPM	driver	System32\drivers\amdppm.sys	
amdsata	driver	System32\drivers\amdsata.sys	
amdsbs	driver	System32\drivers\amdsbs.sys	
amdxata	driver	System32\drivers\amdxata.sys	
AppID	driver	system32\drivers\appid.sys	
AppIDSvc	svchost	%SystemRoot%\system32\svchost.exe -k -k netsvcs -p	%SystemRoot%\System32\appidsvc.dll
Appinfo	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\appinfo.dll
AppleKmdfFilter	driver	System32\drivers\AppleKmdfFilter.sys	
AppleLowerFilter	driver	System32\drivers\AppleLowerFilter.sys	
applockerfltr	driver	system32\drivers\applockerfltr.sys	
AppMgmt	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\appmgmts.dll
AppReadiness	svchost	%SystemRoot%\System32\svchost.exe -k AppReadiness -p	%SystemRoot%\system32\AppReadiness.dll
AppVClient	own	%SystemRoot%\system32\AppVClient.exe	
AppvStrm	driver	system32\drivers\AppvStrm.sys	
AppvVemgr	driver	system32\drivers\AppvVemgr.sys	
AppvVfs	driver	system32\drivers\AppvVfs.sys	
AppXSvc	svchost	%SystemRoot%\system32\svchost.exe -k wsappx -p	%SystemRoot%\system32\appxdeploymentserver.dll
arcsas	driver	System32\drivers\arcsas.sys	
AssignedAccessManagerSvc	svchost	%SystemRoot%\system32\svchost.exe -k AssignedAccessManagerSvc	%SystemRoot%\System32\assignedaccessmanagersvc.dll
AsyncMac	driver	System32\drivers\asyncmac.sys	
atapi	driver	System32\drivers\atapi.sys	
AudioEndpointBuilder	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\AudioEndpointBuilder.dll
Audiosrv	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\Audiosrv.dll
autotimesvc	svchost	%SystemRoot%\system32\svchost.exe -k autoTimeSvc	%SystemRoot%\System32\autotimesvc.dll
AxInstSV	svchost	%SystemRoot%\system32\svchost.exe -k AxInstSVGroup	%SystemRoot%\System32\AxInstSV.dll
b06bdrv	driver	System32\drivers\bxvbda.sys	
bam	driver	system32\drivers\bam.sys	
BasicDisplay	driver	System32\DriverStore\FileRepository\basicdisplay.inf_amd64_c9e146dfe711b8dd\BasicDisplay.sys	
BasicRender	driver	System32\DriverStore\FileRepository\basicrender.inf_amd64_e8ad637a5eab8140\BasicRender.sys	
BcastDVRUserService	svchost	%SystemRoot%\system32\svchost.exe -k BcastDVRUserService	%SystemRoot%\System32\BcastDVRUserService.dll
BcastDVRUserService_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k BcastDVRUserService	
bcmfn2	driver	System32\drivers\bcmfn2.sys	
BDESVC	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\bdesvc.dll
BFE	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\bfe.dll
bindflt	driver	system32\drivers\bindflt.sys	
BITS	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\qmgr.dll
BluetoothUserService	svchost	%SystemRoot%\system32\svchost.exe -k BthAppGroup -p	%SystemRoot%\System32\Microsoft.Bluetooth.UserService.dll
BluetoothUserService_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k BthAppGroup -p	
bowser	driver	system32\DRIVERS\bowser.sys	
BrokerInfrastructure	svchost	%SystemRoot%\system32\svchost.exe -k DcomLaunch -p	%SystemRoot%\System32\psmsrv.dll
BTAGService	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted	%SystemRoot%\System32\BTAGService.dll
BthA2dp	driver	System32\drivers\BthA2dp.sys	
BthAvctpSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\System32\BthAvctpSvc.dll
BthEnum	driver	System32\drivers\BthEnum.sys	
BthHFEnum	driver	System32\drivers\bthhfenum.sys	
BthLEEnum	driver	System32\drivers\Microsoft.Bluetooth.Legacy.LEEnumerator.sys	
BthMini	driver	System32\drivers\BTHMINI.sys	
BTHMODEM	driver	System32\drivers\bthmodem.sys	
BthPan	driver	System32\drivers\bthpan.sys	
BTHPORT	driver	System32\drivers\BTHport.sys	
bthserv	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\system32\bthserv.dll
BTHUSB	driver	System32\drivers\BTHUSB.sys	
bttflt	driver	System32\drivers\bttflt.sys	
buttonconverter	driver	System32\drivers\buttonconverter.sys	
CAD	driver	System32\drivers\CAD.sys	
camsvc	svchost	%SystemRoot%\system32\svchost.exe -k appmodel -p	%SystemRoot%\system32\CapabilityAccessManager.dll
CaptureService	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\System32\CaptureService.dll
CaptureService_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	
cbdhsvc	svchost	%SystemRoot%\system32\svchost.exe -k ClipboardSvcGroup -p	%SystemRoot%\System32\cbdhsvc.dll
cbdhsvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k ClipboardSvcGroup -p	
cdfs	driver	system32\DRIVERS\cdfs.sys	
CDPSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\System32\CDPSvc.dll
CDPUserSvc	user	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	%SystemRoot%\System32\CDPUserSvc.dll
CDPUserSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	
cdrom	driver	System32\drivers\cdrom.sys	
CertPropSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs	%SystemRoot%\System32\certprop.dll
cht4iscsi	driver	System32\drivers\cht4sx64.sys	
cht4vbd	driver	System32\drivers\cht4vx64.sys	
circlass	driver	System32\drivers\circlass.sys	
CldFlt	driver	system32\drivers\cldflt.sys	
CLFS	driver	System32\drivers\CLFS.sys	
ClipSVC	svchost	%SystemRoot%\System32\svchost.exe -k wsappx -p	%SystemRoot%\System32\ClipSVC.dll
cloudidsvc	svchost	%SystemRoot%\system32\svchost.exe -k CloudIdServiceGroup -p	%SystemRoot%\system32\cloudidsvc.dll
CmBatt	driver	System32\drivers\CmBatt.sys	
CNG	driver	System32\Drivers\cng.sys	
cnghwassist	driver	System32\DRIVERS\cnghwassist.sys	
CompositeBus	driver	System32\DriverStore\FileRepository\compositebus.inf_amd64_720fddf438d1339f\CompositeBus.sys	
condrv	driver	System32\drivers\condrv.sys	
ConsentUxUserSvc	svchost	%SystemRoot%\system32\svchost.exe -k DevicesFlow	%SystemRoot%\System32\ConsentUxClient.dll
ConsentUxUserSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k DevicesFlow	
CoreMessagingRegistrar	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNoNetwork -p	%SystemRoot%\system32\coremessaging.dll
CredentialEnrollmentManagerUserSvc	own	%SystemRoot%\system32\CredentialEnrollmentManager.exe	
CryptSvc	svchost	%SystemRoot%\system32\svchost.exe -k NetworkService -p	%SystemRoot%\system32\cryptsvc.dll
CSC	driver	system32\drivers\csc.sys	
CscService	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\cscsvc.dll
dam	driver	system32\drivers\dam.sys	
dc1-controller	driver	System32\drivers\dc1-controller.sys	
DcomLaunch	svchost	%SystemRoot%\system32\svchost.exe -k DcomLaunch -p	%SystemRoot%\system32\rpcss.dll
dcsvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\dcsvc.dll
defragsvc	svchost	%SystemRoot%\system32\svchost.exe -k defragsvc	%SystemRoot%\System32\defragsvc.dll
DeviceAssociationBrokerSvc	svchost	%SystemRoot%\system32\svchost.exe -k DevicesFlow -p	%SystemRoot%\System32\deviceaccess.dll
DeviceAssociationBrokerSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k DevicesFlow -p	
DeviceAssociationService	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\das.dll
DeviceInstall	svchost	%SystemRoot%\system32\svchost.exe -k DcomLaunch -p	%SystemRoot%\system32\umpnpmgr.dll
DevicePickerUserSvc	svchost	%SystemRoot%\system32\svchost.exe -k DevicesFlow	%SystemRoot%\System32\Windows.Devices.Picker.dll
DevicePickerUserSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k DevicesFlow	
DevicesFlowUserSvc	svchost	%SystemRoot%\system32\svchost.exe -k DevicesFlow	%SystemRoot%\System32\DevicesFlowBroker.dll
DevicesFlowUserSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k DevicesFlow	
DevQueryBroker	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\DevQueryBroker.dll
Dfsc	driver	System32\Drivers\dfsc.sys	
Dhcp	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\system32\dhcpcore.dll
diagnosticshub.standardcollector.service	own	%SystemRoot%\system32\DiagSvcs\DiagnosticsHub.StandardCollector.Service.exe	
diagsvc	svchost	%SystemRoot%\System32\svchost.exe -k diagnostics	%SystemRoot%\system32\DiagSvc.dll
DiagTrack	svchost	%SystemRoot%\System32\svchost.exe -k utcsvc -p	%SystemRoot%\system32\diagtrack.dll
DialogBlockingService	svchost	%SystemRoot%\system32\svchost.exe -k DialogBlockingService	%SystemRoot%\System32\DialogBlockingService.dll
disk	driver	System32\drivers\disk.sys	
DispBrokerDesktopSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\System32\DispBroker.Desktop.dll
DisplayEnhancementService	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\Microsoft.Graphics.Display.DisplayEnhancementService.dll
DmEnrollmentSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\Windows.Internal.Management.dll
dmvsc	driver	System32\drivers\dmvsc.sys	
dmwappushservice	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\dmwappushsvc.dll
Dnscache	svchost	%SystemRoot%\system32\svchost.exe -k NetworkService -p	%SystemRoot%\System32\dnsrslvr.dll
DoSvc	svchost	%SystemRoot%\System32\svchost.exe -k NetworkService -p	
dot3svc	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\dot3svc.dll
DPS	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNoNetwork -p	%SystemRoot%\system32\dps.dll
drmkaud	driver	System32\drivers\drmkaud.sys	
DsmSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\DeviceSetupManager.dll
DsSvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\DsSvc.dll
DusmSvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\dusmsvc.dll
DXGKrnl	driver	System32\drivers\dxgkrnl.sys	
e2fexpress	driver	System32\DriverStore\FileRepository\e2f68.inf_amd64_b62f1e9333dc1fc9\e2f68.sys	
Eaphost	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\eapsvc.dll
ebdrv	driver	System32\drivers\evbda.sys	
EFS	own	%SystemRoot%\System32\lsass.exe	%SystemRoot%\system32\efssvc.dll
EhStorClass	driver	System32\drivers\EhStorClass.sys	
EhStorTcgDrv	driver	System32\drivers\EhStorTcgDrv.sys	
embeddedmode	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\embeddedmodesvc.dll
EntAppSvc	svchost	%SystemRoot%\system32\svchost.exe -k appmodel -p	%SystemRoot%\system32\EnterpriseAppMgmtSvc.dll
ErrDev	driver	System32\drivers\errdev.sys	
EventLog	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\wevtsvc.dll
EventSystem	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\system32\es.dll
Fax	own	%SystemRoot%\system32\fxssvc.exe	
fdc	driver	System32\drivers\fdc.sys	
fdPHost	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\system32\fdPHost.dll
FDResPub	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceAndNoImpersonation -p	%SystemRoot%\system32\fdrespub.dll
fhsvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\fhsvc.dll
FileCrypt	driver	system32\drivers\filecrypt.sys	
FileInfo	driver	System32\drivers\fileinfo.sys	
Filetrace	driver	system32\drivers\filetrace.sys	
flpydisk	driver	System32\drivers\flpydisk.sys	
FltMgr	driver	system32\drivers\fltmgr.sys	
FontCache	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\system32\FntCache.dll
FontCache3.0.0.0	own	%SystemRoot%\Microsoft.Net\Framework64\v3.0\WPF\PresentationFontCache.exe	
FrameServer	svchost	%SystemRoot%\System32\svchost.exe -k Camera	%SystemRoot%\system32\FrameServer.dll
FsDepends	driver	System32\drivers\FsDepends.sys	
fvevol	driver	System32\DRIVERS\fvevol.sys	
gencounter	driver	System32\drivers\vmgencounter.sys	
genericusbfn	driver	System32\DriverStore\FileRepository\genericusbfn.inf_amd64_c75c94eca5d158fc\genericusbfn.sys	
googledrivefs31092	driver	system32\DRIVERS\googledrivefs31092.sys	
GPIOClx0101	driver	System32\Drivers\msgpioclx.sys	
gpsvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\gpsvc.dll
GpuEnergyDrv	driver	System32\drivers\gpuenergydrv.sys	
GraphicsPerfSvc	svchost	%SystemRoot%\System32\svchost.exe -k GraphicsPerfSvcGroup	%SystemRoot%\System32\GraphicsPerfSvc.dll
hcmon	driver	system32\DRIVERS\hcmon.sys	
HdAudAddService	driver	System32\drivers\HdAudio.sys	
HDAudBus	driver	System32\drivers\HDAudBus.sys	
HidBatt	driver	System32\drivers\HidBatt.sys	
HidBth	driver	System32\drivers\hidbth.sys	
hidi2c	driver	System32\drivers\hidi2c.sys	
hidinterrupt	driver	System32\drivers\hidinterrupt.sys	
HidIr	driver	System32\drivers\hidir.sys	
hidserv	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\hidserv.dll
hidspi	driver	System32\drivers\hidspi.sys	
HidUsb	driver	System32\drivers\hidusb.sys	
hns	svchost	%SystemRoot%\system32\svchost.exe -k NetSvcs -p	%SystemRoot%\System32\HostNetSvc.dll
hnswfpdriver	driver	System32\drivers\hnswfpdriver.sys	
HpSAMD	driver	System32\drivers\HpSAMD.sys	
HTTP	driver	system32\drivers\HTTP.sys	
hvcrash	driver	System32\drivers\hvcrash.sys	
HvHost	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\hvhostsvc.dll
hvservice	driver	system32\drivers\hvservice.sys	
hvsocketcontrol	driver	system32\drivers\hvsocketcontrol.sys	
HwNClx0101	driver	System32\Drivers\mshwnclx.sys	
hwpolicy	driver	System32\drivers\hwpolicy.sys	
hyperkbd	driver	System32\drivers\hyperkbd.sys	
HyperVideo	driver	System32\drivers\HyperVideo.sys	
i8042prt	driver	System32\drivers\i8042prt.sys	
iagpio	driver	System32\drivers\iagpio.sys	
iai2c	driver	System32\drivers\iai2c.sys	
iaLPSS2i_GPIO2	driver	System32\drivers\iaLPSS2i_GPIO2.sys	
iaLPSS2i_GPIO2_BXT_P	driver	System32\drivers\iaLPSS2i_GPIO2_BXT_P.sys	
iaLPSS2i_GPIO2_CNL	driver	System32\drivers\iaLPSS2i_GPIO2_CNL.sys	
iaLPSS2i_GPIO2_GLK	driver	System32\drivers\iaLPSS2i_GPIO2_GLK.sys	
iaLPSS2i_I2C	driver	System32\drivers\iaLPSS2i_I2C.sys	
iaLPSS2i_I2C_BXT_P	driver	System32\drivers\iaLPSS2i_I2C_BXT_P.sys	
iaLPSS2i_I2C_CNL	driver	System32\drivers\iaLPSS2i_I2C_CNL.sys	
iaLPSS2i_I2C_GLK	driver	System32\drivers\iaLPSS2i_I2C_GLK.sys	
iaLPSSi_GPIO	driver	System32\drivers\iaLPSSi_GPIO.sys	
iaLPSSi_I2C	driver	System32\drivers\iaLPSSi_I2C.sys	
iaStorAVC	driver	System32\drivers\iaStorAVC.sys	
iaStorV	driver	System32\drivers\iaStorV.sys	
ibbus	driver	System32\drivers\ibbus.sys	
ibtusb	driver	System32\DriverStore\FileRepository\ibtusb.inf_amd64_78a07e2e782338c1\ibtusb.sys	
icssvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\tetheringservice.dll
IKEEXT	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\ikeext.dll
IndirectKmd	driver	System32\drivers\IndirectKmd.sys	
InstallService	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\InstallService.dll
intelide	driver	System32\drivers\intelide.sys	
intelpep	driver	System32\drivers\intelpep.sys	
intelpmax	driver	System32\drivers\intelpmax.sys	
intelppm	driver	System32\drivers\intelppm.sys	
iorate	driver	system32\drivers\iorate.sys	
IpFilterDriver	driver	system32\DRIVERS\ipfltdrv.sys	
iphlpsvc	svchost	%SystemRoot%\System32\svchost.exe -k NetSvcs -p	%SystemRoot%\System32\iphlpsvc.dll
IPMIDRV	driver	System32\drivers\IPMIDrv.sys	
IPNAT	driver	System32\drivers\ipnat.sys	
IPT	driver	System32\drivers\ipt.sys	
IpxlatCfgSvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\IpxlatCfg.dll
isapnp	driver	System32\drivers\isapnp.sys	
iScsiPrt	driver	System32\drivers\msiscsi.sys	
ItSas35i	driver	System32\drivers\ItSas35i.sys	
jhi_service	own	%SystemRoot%\System32\DriverStore\FileRepository\dal.inf_amd64_54dc8f20fa1b5b41\jhi_service.exe	
kbdclass	driver	System32\drivers\kbdclass.sys	
kbdhid	driver	System32\drivers\kbdhid.sys	
kbldfltr	driver	system32\drivers\kbldfltr.sys	
kdnic	driver	System32\drivers\kdnic.sys	
KeyIso	own	%SystemRoot%\system32\lsass.exe	%SystemRoot%\system32\keyiso.dll
KSecDD	driver	System32\Drivers\ksecdd.sys	
KSecPkg	driver	System32\Drivers\ksecpkg.sys	
ksthunk	driver	system32\drivers\ksthunk.sys	
KtmRm	svchost	%SystemRoot%\System32\svchost.exe -k NetworkServiceAndNoImpersonation -p	%SystemRoot%\system32\msdtckrm.dll
l2bridge	driver	System32\drivers\l2bridge.sys	
LanmanServer	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\srvsvc.dll
LanmanWorkstation	svchost	%SystemRoot%\System32\svchost.exe -k NetworkService -p	%SystemRoot%\System32\wkssvc.dll
lfsvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\lfsvc.dll
LicenseManager	svchost	%SystemRoot%\System32\svchost.exe -k LocalService -p	%SystemRoot%\system32\LicenseManagerSvc.dll
lltdio	driver	system32\drivers\lltdio.sys	
lltdsvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalService -p	%SystemRoot%\System32\lltdsvc.dll
lmhosts	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\lmhsvc.dll
logi_generic_hid_filter	driver	system32\drivers\logi_generic_hid_filter.sys	
logi_joy_bus_enum	driver	system32\drivers\logi_joy_bus_enum.sys	
logi_joy_hid_filter	driver	system32\drivers\logi_joy_hid_filter.sys	
logi_joy_hid_lo	driver	system32\drivers\logi_joy_hid_lo.sys	
logi_joy_vir_hid	driver	system32\drivers\logi_joy_vir_hid.sys	
logi_joy_xlcore	driver	system32\drivers\logi_joy_xlcore.sys	
LSI_SAS	driver	System32\drivers\lsi_sas.sys	
LSI_SAS2i	driver	System32\drivers\lsi_sas2i.sys	
LSI_SAS3i	driver	System32\drivers\lsi_sas3i.sys	
LSI_SSS	driver	System32\drivers\lsi_sss.sys	
LSM	svchost	%SystemRoot%\system32\svchost.exe -k DcomLaunch -p	%SystemRoot%\System32\lsm.dll
luafv	driver	system32\drivers\luafv.sys	
LxpSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs	%SystemRoot%\System32\LanguageOverlayServer.dll
lxss	driver	system32\drivers\lxss.sys	
LxssManager	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\lxss\LxssManager.dll
LxssManagerUser	svchost	%SystemRoot%\system32\svchost.exe -k LxssManagerUser -p	%SystemRoot%\system32\lxss\wslclient.dll
LxssManagerUser_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k LxssManagerUser -p	
MapsBroker	svchost	%SystemRoot%\System32\svchost.exe -k NetworkService -p	%SystemRoot%\System32\moshost.dll
mausbhost	driver	System32\drivers\mausbhost.sys	
mausbip	driver	System32\drivers\mausbip.sys	
MBAMChameleon	driver	System32\Drivers\MbamChameleon.sys	
MbamElam	driver	system32\DRIVERS\MbamElam.sys	
MBAMSwissArmy	driver	System32\Drivers\mbamswissarmy.sys	
MbbCx	driver	system32\drivers\MbbCx.sys	
McpManagementService	svchost	%SystemRoot%\system32\svchost.exe -k McpManagementServiceGroup	%SystemRoot%\System32\McpManagementService.dll
megasas	driver	System32\drivers\megasas.sys	
megasas2i	driver	System32\drivers\MegaSas2i.sys	
megasas35i	driver	System32\drivers\megasas35i.sys	
megasr	driver	System32\drivers\megasr.sys	
MEIx64	driver	System32\DriverStore\FileRepository\heci.inf_amd64_60cb42a29e62815b\x64\TeeDriverW10x64.sys	
MessagingService	user	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	%SystemRoot%\System32\MessagingService.dll
MessagingService_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	
Microsoft_Bluetooth_AvrcpTransport	driver	System32\drivers\Microsoft.Bluetooth.AvrcpTransport.sys	
MixedRealityOpenXRSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\MixedRealityRuntime.dll
mlx4_bus	driver	System32\drivers\mlx4_bus.sys	
MMCSS	driver	system32\drivers\mmcss.sys	
Modem	driver	system32\drivers\modem.sys	
monitor	driver	System32\drivers\monitor.sys	
mouclass	driver	System32\drivers\mouclass.sys	
mouhid	driver	System32\drivers\mouhid.sys	
mountmgr	driver	System32\drivers\mountmgr.sys	
mpsdrv	driver	System32\drivers\mpsdrv.sys	
mpssvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\mpssvc.dll
MRxDAV	driver	system32\drivers\mrxdav.sys	
mrxsmb	driver	system32\DRIVERS\mrxsmb.sys	
mrxsmb20	driver	system32\DRIVERS\mrxsmb20.sys	
MsBridge	driver	System32\drivers\bridge.sys	
MSDTC	own	%SystemRoot%\System32\msdtc.exe	
msgpiowin32	driver	System32\drivers\msgpiowin32.sys	
mshidkmdf	driver	System32\drivers\mshidkmdf.sys	
mshidumdf	driver	System32\drivers\mshidumdf.sys	
msisadrv	driver	System32\drivers\msisadrv.sys	
MSiSCSI	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\iscsiexe.dll
msiserver	own	%SystemRoot%\system32\msiexec.exe /V	
MsKeyboardFilter	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\KeyboardFilterSvc.dll
MSKSSRV	driver	System32\drivers\MSKSSRV.sys	
MsLldp	driver	system32\drivers\mslldp.sys	
MSPCLOCK	driver	System32\drivers\MSPCLOCK.sys	
MSPQM	driver	System32\drivers\MSPQM.sys	
MsQuic	driver	system32\drivers\msquic.sys	
MsSecCore	driver	system32\drivers\msseccore.sys	
MsSecFlt	driver	system32\drivers\mssecflt.sys	
MsSecWfp	driver	system32\drivers\mssecwfp.sys	
mssmbios	driver	System32\drivers\mssmbios.sys	
MSTEE	driver	System32\drivers\MSTEE.sys	
MTConfig	driver	System32\drivers\MTConfig.sys	
Mup	driver	System32\Drivers\mup.sys	
mvumis	driver	System32\drivers\mvumis.sys	
NativeWifiP	driver	system32\DRIVERS\nwifi.sys	
NaturalAuthentication	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\NaturalAuth.dll
NcaSvc	svchost	%SystemRoot%\System32\svchost.exe -k NetSvcs -p	%SystemRoot%\System32\ncasvc.dll
NcbService	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\ncbservice.dll
NcdAutoSetup	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNoNetwork -p	%SystemRoot%\System32\NcdAutoSetup.dll
ndfltr	driver	System32\drivers\ndfltr.sys	
NDIS	driver	system32\drivers\ndis.sys	
NdisCap	driver	System32\drivers\ndiscap.sys	
NdisImPlatform	driver	System32\drivers\NdisImPlatform.sys	
NdisTapi	driver	System32\DRIVERS\ndistapi.sys	
Ndisuio	driver	system32\drivers\ndisuio.sys	
NdisVirtualBus	driver	System32\drivers\NdisVirtualBus.sys	
NdisWan	driver	System32\drivers\ndiswan.sys	
ndiswanlegacy	driver	System32\DRIVERS\ndiswan.sys	
NDKPing	driver	system32\drivers\NDKPing.sys	
ndproxy	driver	System32\DRIVERS\NDProxy.sys	
Ndu	driver	system32\drivers\Ndu.sys	
NetAdapterCx	driver	system32\drivers\NetAdapterCx.sys	
NetBIOS	driver	system32\drivers\netbios.sys	
NetBT	driver	System32\DRIVERS\netbt.sys	
Netlogon	own	%SystemRoot%\system32\lsass.exe	%SystemRoot%\system32\netlogon.dll
Netman	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\netman.dll
netprofm	svchost	%SystemRoot%\System32\svchost.exe -k LocalService -p	%SystemRoot%\System32\netprofmsvc.dll
NetSetupSvc	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\NetSetupSvc.dll
NetTcpPortSharing	own	%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\SMSvcHost.exe	
netvsc	driver	System32\drivers\netvsc.sys	
Netwtw10	driver	System32\drivers\Netwtw10.sys	
Netwtw12	driver	System32\drivers\Netwtw12.sys	
NgcCtnrSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\NgcCtnrSvc.dll
NgcSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\ngcsvc.dll
NlaSvc	svchost	%SystemRoot%\System32\svchost.exe -k NetworkService -p	%SystemRoot%\System32\nlasvc.dll
npcap	driver	system32\DRIVERS\npcap.sys	
npsvctrig	driver	System32\drivers\npsvctrig.sys	
nsi	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\system32\nsisvc.dll
nsiproxy	driver	system32\drivers\nsiproxy.sys	
nvagent	svchost	%SystemRoot%\system32\svchost.exe -k NetSvcs	%SystemRoot%\System32\NvAgent.dll
nvdimm	driver	System32\drivers\nvdimm.sys	
NVHDA	driver	system32\drivers\nvhda64v.sys	
nvlddmkm	driver	System32\DriverStore\FileRepository\nv_dispi.inf_amd64_dd889e43e77d7247\nvlddmkm.sys	
NvModuleTracker	driver	System32\DriverStore\FileRepository\nvmoduletracker.inf_amd64_868c5ae811bc92fc\NvModuleTracker.sys	
nvraid	driver	System32\drivers\nvraid.sys	
nvstor	driver	System32\drivers\nvstor.sys	
nvvad_WaveExtensible	driver	system32\drivers\nvvad64v.sys	
nvvhci	driver	System32\drivers\nvvhci.sys	
OneSyncSvc	user	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	%SystemRoot%\System32\APHostService.dll
OneSyncSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	
p2pimsvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServicePeerNet	%SystemRoot%\system32\pnrpsvc.dll
p2psvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServicePeerNet	%SystemRoot%\system32\p2psvc.dll
P9Rdr	driver	System32\drivers\p9rdr.sys	
Parport	driver	System32\drivers\parport.sys	
partmgr	driver	System32\drivers\partmgr.sys	
passthruparser	driver	system32\drivers\passthruparser.sys	
PcaSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\pcasvc.dll
pci	driver	System32\drivers\pci.sys	
pciide	driver	System32\drivers\pciide.sys	
pcmcia	driver	System32\drivers\pcmcia.sys	
pcw	driver	System32\drivers\pcw.sys	
pdc	driver	system32\drivers\pdc.sys	
PEAUTH	driver	system32\drivers\peauth.sys	
PeerDistSvc	svchost	%SystemRoot%\System32\svchost.exe -k PeerDist	%SystemRoot%\system32\peerdistsvc.dll
perceptionsimulation	own	%SystemRoot%\system32\PerceptionSimulation\PerceptionSimulationService.exe	
percsas2i	driver	System32\drivers\percsas2i.sys	
percsas3i	driver	System32\drivers\percsas3i.sys	
PerfHost	own	%SystemRoot%\SysWow64\perfhost.exe	
PhoneSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\System32\PhoneService.dll
PimIndexMaintenanceSvc	user	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	%SystemRoot%\System32\PimIndexMaintenance.dll
PimIndexMaintenanceSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	
PktMon	driver	system32\drivers\PktMon.sys	
pla	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNoNetwork -p	%SystemRoot%\system32\pla.dll
PlugPlay	svchost	%SystemRoot%\system32\svchost.exe -k DcomLaunch -p	%SystemRoot%\system32\umpnpmgr.dll
pmem	driver	System32\drivers\pmem.sys	
PNPMEM	driver	System32\drivers\pnpmem.sys	
PNRPAutoReg	svchost	%SystemRoot%\System32\svchost.exe -k LocalServicePeerNet	%SystemRoot%\system32\pnrpauto.dll
PNRPsvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServicePeerNet	%SystemRoot%\system32\pnrpsvc.dll
PolicyAgent	svchost	%SystemRoot%\system32\svchost.exe -k NetworkServiceNetworkRestricted -p	%SystemRoot%\System32\ipsecsvc.dll
portcfg	driver	System32\drivers\portcfg.sys	
Power	svchost	%SystemRoot%\system32\svchost.exe -k DcomLaunch -p	%SystemRoot%\system32\umpo.dll
PptpMiniport	driver	System32\drivers\raspptp.sys	
PrintNotify	svchost	%SystemRoot%\system32\svchost.exe -k print	%SystemRoot%\system32\spool\drivers\x64\3\PrintConfig.dll
PrintWorkflowUserSvc	svchost	%SystemRoot%\system32\svchost.exe -k PrintWorkflow	%SystemRoot%\System32\PrintWorkflowService.dll
PrintWorkflowUserSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k PrintWorkflow	
Processor	driver	System32\drivers\processr.sys	
ProfSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\profsvc.dll
Psched	driver	System32\drivers\pacer.sys	
PushToInstall	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\PushToInstall.dll
pvhdparser	driver	system32\drivers\pvhdparser.sys	
QWAVE	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceAndNoImpersonation -p	%SystemRoot%\system32\qwave.dll
QWAVEdrv	driver	system32\drivers\qwavedrv.sys	
Ramdisk	driver	system32\DRIVERS\ramdisk.sys	
RasAcd	driver	System32\DRIVERS\rasacd.sys	
RasAgileVpn	driver	System32\drivers\AgileVpn.sys	
RasAuto	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\rasauto.dll
Rasl2tp	driver	System32\drivers\rasl2tp.sys	
RasMan	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs	%SystemRoot%\System32\rasmans.dll
RasPppoe	driver	System32\DRIVERS\raspppoe.sys	
RasSstp	driver	System32\drivers\rassstp.sys	
rdbss	driver	system32\DRIVERS\rdbss.sys	
rdpbus	driver	System32\drivers\rdpbus.sys	
RDPDR	driver	System32\drivers\rdpdr.sys	
RdpVideoMiniport	driver	System32\drivers\rdpvideominiport.sys	
rdyboost	driver	System32\drivers\rdyboost.sys	
RemoteAccess	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs	%SystemRoot%\System32\mprdim.dll
RemoteRegistry	svchost	%SystemRoot%\system32\svchost.exe -k localService -p	%SystemRoot%\system32\regsvc.dll
RetailDemo	svchost	%SystemRoot%\System32\svchost.exe -k rdxgroup	%SystemRoot%\system32\RDXService.dll
RFCOMM	driver	System32\drivers\rfcomm.sys	
rhproxy	driver	System32\drivers\rhproxy.sys	
RmSvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted	%SystemRoot%\System32\RMapi.dll
RpcEptMapper	svchost	%SystemRoot%\system32\svchost.exe -k RPCSS -p	%SystemRoot%\System32\RpcEpMap.dll
RpcLocator	own	%SystemRoot%\system32\locator.exe	
RpcSs	svchost	%SystemRoot%\system32\svchost.exe -k rpcss -p	%SystemRoot%\system32\rpcss.dll
rspndr	driver	system32\drivers\rspndr.sys	
s3cap	driver	System32\drivers\vms3cap.sys	
SamSs	own	%SystemRoot%\system32\lsass.exe	
sbp2port	driver	System32\drivers\sbp2port.sys	
SCardSvr	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceAndNoImpersonation	%SystemRoot%\System32\SCardSvr.dll
ScDeviceEnum	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted	%SystemRoot%\System32\ScDeviceEnum.dll
scfilter	driver	System32\DRIVERS\scfilter.sys	
Schedule	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\schedsvc.dll
scmbus	driver	System32\drivers\scmbus.sys	
SCPolicySvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs	%SystemRoot%\System32\certprop.dll
sdbus	driver	System32\drivers\sdbus.sys	
SDFRd	driver	System32\drivers\SDFRd.sys	
SDRSVC	svchost	%SystemRoot%\system32\svchost.exe -k SDRSVC	%SystemRoot%\System32\SDRSVC.dll
sdstor	driver	System32\drivers\sdstor.sys	
seclogon	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\seclogon.dll
SecurityHealthService	own	%SystemRoot%\system32\SecurityHealthService.exe	
SEMgrSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\system32\SEMgrSvc.dll
SENS	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\sens.dll
SensorDataService	own	%SystemRoot%\System32\SensorDataService.exe	
SensorService	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\SensorService.dll
SensrSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceAndNoImpersonation -p	%SystemRoot%\system32\sensrsvc.dll
SerCx	driver	system32\drivers\SerCx.sys	
SerCx2	driver	system32\drivers\SerCx2.sys	
Serenum	driver	System32\drivers\serenum.sys	
Serial	driver	System32\drivers\serial.sys	
sermouse	driver	System32\drivers\sermouse.sys	
SessionEnv	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\sessenv.dll
sfloppy	driver	System32\drivers\sfloppy.sys	
SgrmAgent	driver	system32\drivers\SgrmAgent.sys	
SgrmBroker	own	%SystemRoot%\system32\SgrmBroker.exe	
SharedAccess	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\ipnathlp.dll
SharedRealitySvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\System32\SharedRealitySvc.dll
ShellHWDetection	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\shsvcs.dll
shpamsvc	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\Windows.SharedPC.AccountManager.dll
SiSRaid2	driver	System32\drivers\SiSRaid2.sys	
SiSRaid4	driver	System32\drivers\sisraid4.sys	
SmartSAMD	driver	System32\drivers\SmartSAMD.sys	
smbdirect	driver	System32\DRIVERS\smbdirect.sys	
smphost	svchost	%SystemRoot%\System32\svchost.exe -k smphost	%SystemRoot%\System32\smphost.dll
SmsRouter	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\system32\SmsRouterSvc.dll
SNMPTRAP	own	%SystemRoot%\System32\snmptrap.exe	
spaceparser	driver	system32\drivers\spaceparser.sys	
spaceport	driver	System32\drivers\spaceport.sys	
SpatialGraphFilter	driver	System32\drivers\SpatialGraphFilter.sys	
SpbCx	driver	system32\drivers\SpbCx.sys	
spectrum	own	%SystemRoot%\system32\spectrum.exe	
Spooler	own	%SystemRoot%\System32\spoolsv.exe	
sppsvc	own	%SystemRoot%\system32\sppsvc.exe	
srv2	driver	System32\DRIVERS\srv2.sys	
srvnet	driver	System32\DRIVERS\srvnet.sys	
SSDPSRV	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceAndNoImpersonation -p	%SystemRoot%\System32\ssdpsrv.dll
ssh-agent	own	%SystemRoot%\System32\OpenSSH\ssh-agent.exe	
SstpSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\system32\sstpsvc.dll
StateRepository	svchost	%SystemRoot%\system32\svchost.exe -k appmodel -p	%SystemRoot%\system32\windows.staterepository.dll
stexstor	driver	System32\drivers\stexstor.sys	
stisvc	svchost	%SystemRoot%\system32\svchost.exe -k imgsvc	%SystemRoot%\System32\wiaservc.dll
storahci	driver	System32\drivers\storahci.sys	
storflt	driver	System32\drivers\vmstorfl.sys	
stornvme	driver	System32\drivers\stornvme.sys	
storqosflt	driver	system32\drivers\storqosflt.sys	
StorSvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\storsvc.dll
storufs	driver	System32\drivers\storufs.sys	
storvsc	driver	System32\drivers\storvsc.sys	
storvsp	driver	System32\drivers\storvsp.sys	
svsvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\svsvc.dll
swenum	driver	System32\DriverStore\FileRepository\swenum.inf_amd64_c9f07d67838a9b96\swenum.sys	
swprv	svchost	%SystemRoot%\System32\svchost.exe -k swprv	%SystemRoot%\System32\swprv.dll
Synth3dVsc	driver	System32\drivers\Synth3dVsc.sys	
SysMain	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\sysmain.dll
SystemEventsBroker	svchost	%SystemRoot%\system32\svchost.exe -k DcomLaunch -p	%SystemRoot%\System32\SystemEventsBrokerServer.dll
TabletInputService	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\TabSvc.dll
TapiSrv	svchost	%SystemRoot%\System32\svchost.exe -k NetworkService -p	%SystemRoot%\System32\tapisrv.dll
Tcpip	driver	System32\drivers\tcpip.sys	
Tcpip6	driver	System32\drivers\tcpip.sys	
tcpipreg	driver	System32\drivers\tcpipreg.sys	
tdx	driver	system32\DRIVERS\tdx.sys	
Telemetry	driver	System32\drivers\IntelTA.sys	
terminpt	driver	System32\drivers\terminpt.sys	
TermService	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\termsrv.dll
Themes	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\themeservice.dll
TieringEngineService	own	%SystemRoot%\system32\TieringEngineService.exe	
TimeBrokerSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\TimeBrokerServer.dll
TokenBroker	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\TokenBroker.dll
TPM	driver	System32\drivers\tpm.sys	
TrkWks	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\trkwks.dll
TroubleshootingSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\MitigationClient.dll
TrustedInstaller	own	%SystemRoot%\servicing\TrustedInstaller.exe	
TsUsbFlt	driver	system32\drivers\tsusbflt.sys	
TsUsbGD	driver	System32\drivers\TsUsbGD.sys	
tsusbhub	driver	System32\drivers\tsusbhub.sys	
tunnel	driver	System32\drivers\tunnel.sys	
tzautoupdate	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\system32\tzautoupdate.dll
UASPStor	driver	System32\drivers\uaspstor.sys	
UcmCx0101	driver	System32\Drivers\UcmCx.sys	
UcmTcpciCx0101	driver	System32\Drivers\UcmTcpciCx.sys	
UcmUcsiAcpiClient	driver	System32\drivers\UcmUcsiAcpiClient.sys	
UcmUcsiCx0101	driver	System32\Drivers\UcmUcsiCx.sys	
Ucx01000	driver	system32\drivers\ucx01000.sys	
UdeCx	driver	system32\drivers\udecx.sys	
udfs	driver	system32\DRIVERS\udfs.sys	
UdkUserSvc	svchost	%SystemRoot%\system32\svchost.exe -k UdkSvcGroup	%SystemRoot%\System32\windowsudk.shellcommon.dll
UdkUserSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k UdkSvcGroup	
UEFI	driver	System32\DriverStore\FileRepository\uefi.inf_amd64_7479a573d2190657\UEFI.sys	
UevAgentDriver	driver	system32\drivers\UevAgentDriver.sys	
UevAgentService	own	%SystemRoot%\system32\AgentService.exe	
Ufx01000	driver	system32\drivers\ufx01000.sys	
UfxChipidea	driver	System32\DriverStore\FileRepository\ufxchipidea.inf_amd64_a1097b2b5f62f125\UfxChipidea.sys	
ufxsynopsys	driver	System32\drivers\ufxsynopsys.sys	
umbus	driver	System32\DriverStore\FileRepository\umbus.inf_amd64_4c7d2945ceb968c9\umbus.sys	
UmPass	driver	System32\drivers\umpass.sys	
UmRdpService	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\umrdp.dll
UnistoreSvc	user	%SystemRoot%\System32\svchost.exe -k UnistackSvcGroup	%SystemRoot%\System32\unistore.dll
UnistoreSvc_1af30d	svchost	%SystemRoot%\System32\svchost.exe -k UnistackSvcGroup	
upnphost	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceAndNoImpersonation -p	%SystemRoot%\System32\upnphost.dll
UrsChipidea	driver	System32\DriverStore\FileRepository\urschipidea.inf_amd64_061705c2e21c80f3\urschipidea.sys	
UrsCx01000	driver	system32\drivers\urscx01000.sys	
UrsSynopsys	driver	System32\DriverStore\FileRepository\urssynopsys.inf_amd64_fa6697fc78a8bc59\urssynopsys.sys	
usbaudio	driver	system32\drivers\usbaudio.sys	
usbaudio2	driver	System32\drivers\usbaudio2.sys	
usbccgp	driver	System32\drivers\usbccgp.sys	
usbcir	driver	System32\drivers\usbcir.sys	
usbehci	driver	System32\drivers\usbehci.sys	
usbhub	driver	System32\drivers\usbhub.sys	
USBHUB3	driver	System32\drivers\UsbHub3.sys	
usbohci	driver	System32\drivers\usbohci.sys	
usbprint	driver	System32\drivers\usbprint.sys	
usbrndis6	driver	System32\drivers\usb80236.sys	
usbser	driver	System32\drivers\usbser.sys	
USBSTOR	driver	System32\drivers\USBSTOR.SYS	
usbuhci	driver	System32\drivers\usbuhci.sys	
usbvideo	driver	System32\Drivers\usbvideo.sys	
USBXHCI	driver	System32\drivers\USBXHCI.SYS	
UserDataSvc	user	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	%SystemRoot%\System32\userdataservice.dll
UserDataSvc_1af30d	svchost	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	
UserManager	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\usermgr.dll
UsoSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\usosvc.dll
VacSvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\vac.dll
VaultSvc	own	%SystemRoot%\system32\lsass.exe	%SystemRoot%\System32\vaultsvc.dll
VBoxNetAdp	driver	system32\DRIVERS\VBoxNetAdp6.sys	
VBoxNetLwf	driver	system32\DRIVERS\VBoxNetLwf.sys	
VBoxSup	driver	system32\DRIVERS\VBoxSup.sys	
VBoxUSBMon	driver	system32\DRIVERS\VBoxUSBMon.sys	
vdrvroot	driver	System32\drivers\vdrvroot.sys	
vds	own	%SystemRoot%\System32\vds.exe	
VerifierExt	driver	System32\drivers\VerifierExt.sys	
VfpExt	driver	system32\drivers\vfpext.sys	
vhdmp	driver	System32\drivers\vhdmp.sys	
vhdparser	driver	system32\drivers\vhdparser.sys	
vhf	driver	System32\drivers\vhf.sys	
Vid	driver	System32\drivers\Vid.sys	
VirtualRender	driver	System32\DriverStore\FileRepository\vrd.inf_amd64_adfbd705bae5c080\vrd.sys	
vmbus	driver	System32\drivers\vmbus.sys	
VMBusHID	driver	System32\drivers\VMBusHID.sys	
vmbusr	driver	System32\drivers\vmbusr.sys	
vmci	driver	System32\drivers\vmci.sys	
vmcompute	own	%SystemRoot%\system32\vmcompute.exe	
vmgid	driver	System32\drivers\vmgid.sys	
vmicguestinterface	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\icsvc.dll
vmicheartbeat	svchost	%SystemRoot%\system32\svchost.exe -k ICService -p	%SystemRoot%\System32\icsvc.dll
vmickvpexchange	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\icsvc.dll
vmicrdv	svchost	%SystemRoot%\system32\svchost.exe -k ICService -p	%SystemRoot%\System32\icsvcext.dll
vmicshutdown	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\icsvc.dll
vmictimesync	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\icsvc.dll
vmicvmsession	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\icsvc.dll
vmicvss	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\icsvcext.dll
VMnetAdapter	driver	system32\DRIVERS\vmnetadapter.sys	
VMnetBridge	driver	system32\DRIVERS\vmnetbridge.sys	
VMnetuserif	driver	system32\DRIVERS\vmnetuserif.sys	
vmsmp	driver	System32\drivers\vmswitch.sys	
VMSNPXY	driver	system32\drivers\VmsProxyHNic.sys	
VMSNPXYMP	driver	System32\drivers\VmsProxyHNic.sys	
VMSP	driver	System32\drivers\vmswitch.sys	
VmsProxy	driver	system32\drivers\VmsProxy.sys	
VMSVSF	driver	System32\drivers\vmswitch.sys	
VMSVSP	driver	System32\drivers\vmswitch.sys	
vmusb	driver	System32\drivers\vmusb.sys	
vmx86	driver	system32\DRIVERS\vmx86.sys	
VOICEMOD_Driver	driver	system32\drivers\mvvad.sys	
volmgr	driver	System32\drivers\volmgr.sys	
volmgrx	driver	System32\drivers\volmgrx.sys	
volsnap	driver	System32\drivers\volsnap.sys	
volume	driver	System32\drivers\volume.sys	
vpci	driver	System32\drivers\vpci.sys	
vpcivsp	driver	System32\drivers\vpcivsp.sys	
vsmraid	driver	System32\drivers\vsmraid.sys	
vsock	driver	system32\DRIVERS\vsock.sys	
VSS	own	%SystemRoot%\system32\vssvc.exe	
vstor2-mntapi20-shared	driver	SysWOW64\drivers\vstor2-x64.sys	
VSTXRAID	driver	System32\drivers\vstxraid.sys	
vwifibus	driver	System32\drivers\vwifibus.sys	
vwififlt	driver	System32\drivers\vwififlt.sys	
vwifimp	driver	System32\drivers\vwifimp.sys	
W32Time	svchost	%SystemRoot%\system32\svchost.exe -k LocalService	%SystemRoot%\system32\w32time.dll
WaaSMedicSvc	svchost	%SystemRoot%\system32\svchost.exe -k wusvcs -p	%SystemRoot%\System32\WaaSMedicSvc.dll
WacomPen	driver	System32\drivers\wacompen.sys	
WalletService	svchost	%SystemRoot%\System32\svchost.exe -k appmodel -p	%SystemRoot%\system32\WalletService.dll
wanarp	driver	System32\DRIVERS\wanarp.sys	
wanarpv6	driver	System32\DRIVERS\wanarp.sys	
WarpJITSvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted	%SystemRoot%\System32\Windows.WARP.JITService.dll
WbioSrvc	svchost	%SystemRoot%\system32\svchost.exe -k WbioSvcGroup	%SystemRoot%\System32\wbiosrvc.dll
wcifs	driver	system32\drivers\wcifs.sys	
Wcmsvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\wcmsvc.dll
wcncsvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceAndNoImpersonation -p	%SystemRoot%\System32\wcncsvc.dll
wcnfs	driver	system32\drivers\wcnfs.sys	
WdBoot	driver	system32\drivers\wd\WdBoot.sys	
Wdf01000	driver	system32\drivers\Wdf01000.sys	
WdFilter	driver	system32\drivers\wd\WdFilter.sys	
WdiServiceHost	svchost	%SystemRoot%\System32\svchost.exe -k LocalService -p	%SystemRoot%\system32\wdi.dll
WdiSystemHost	svchost	%SystemRoot%\System32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\system32\wdi.dll
wdiwifi	driver	system32\DRIVERS\wdiwifi.sys	
WdmCompanionFilter	driver	system32\drivers\WdmCompanionFilter.sys	
WdNisDrv	driver	system32\drivers\wd\WdNisDrv.sys	
WebClient	svchost	%SystemRoot%\system32\svchost.exe -k LocalService -p	%SystemRoot%\System32\webclnt.dll
Wecsvc	svchost	%SystemRoot%\system32\svchost.exe -k NetworkService -p	%SystemRoot%\system32\wecsvc.dll
WEPHOSTSVC	svchost	%SystemRoot%\system32\svchost.exe -k WepHostSvcGroup	%SystemRoot%\system32\wephostsvc.dll
wercplsupport	svchost	%SystemRoot%\System32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\wercplsupport.dll
WerSvc	svchost	%SystemRoot%\System32\svchost.exe -k WerSvcGroup	%SystemRoot%\System32\WerSvc.dll
WFDSConMgrSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\wfdsconmgrsvc.dll
WFPLWFS	driver	System32\drivers\wfplwfs.sys	
WiaRpc	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\wiarpc.dll
WIMMount	driver	system32\drivers\wimmount.sys	
WindowsTrustedRT	driver	system32\drivers\WindowsTrustedRT.sys	
WindowsTrustedRTProxy	driver	System32\drivers\WindowsTrustedRTProxy.sys	
WinHttpAutoProxySvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\winhttp.dll
WinMad	driver	System32\drivers\winmad.sys	
Winmgmt	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\wbem\WMIsvc.dll
WinNat	driver	system32\drivers\winnat.sys	
WinRM	svchost	%SystemRoot%\System32\svchost.exe -k NetworkService -p	%SystemRoot%\system32\WsmSvc.dll
WINUSB	driver	System32\drivers\WinUSB.SYS	
WinVerbs	driver	System32\drivers\winverbs.sys	
wisvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\flightsettings.dll
WlanSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted -p	%SystemRoot%\System32\wlansvc.dll
wlidsvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\wlidsvc.dll
wlpasvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\lpasvc.dll
WManSvc	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\Windows.Management.Service.dll
WmiAcpi	driver	System32\drivers\wmiacpi.sys	
wmiApSrv	own	%SystemRoot%\system32\wbem\WmiApSrv.exe	
WMIRegistrationService	own	%SystemRoot%\System32\DriverStore\FileRepository\mewmiprov.inf_amd64_cad1db73e8c782a6\WMIRegistrationService.exe	
workfolderssvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalService -p	%SystemRoot%\system32\workfolderssvc.dll
WpcMonSvc	svchost	%SystemRoot%\system32\svchost.exe -k LocalService	%SystemRoot%\System32\WpcDesktopMonSvc.dll
WPDBusEnum	svchost	%SystemRoot%\system32\svchost.exe -k LocalSystemNetworkRestricted	%SystemRoot%\system32\wpdbusenum.dll
WpdUpFltr	driver	System32\drivers\WpdUpFltr.sys	
WpnService	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\WpnService.dll
WpnUserService	user	%SystemRoot%\system32\svchost.exe -k UnistackSvcGroup	%SystemRoot%\System32\WpnUserService.dll
ws2ifsl	driver	system32\drivers\ws2ifsl.sys	
wscsvc	svchost	%SystemRoot%\System32\svchost.exe -k LocalServiceNetworkRestricted -p	%SystemRoot%\System32\wscsvc.dll
WSearch	own	%SystemRoot%\system32\SearchIndexer.exe /Embedding	
wuauserv	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\system32\wuaueng.dll
WudfPf	driver	system32\drivers\WudfPf.sys	
WUDFRd	driver	System32\drivers\WUDFRd.sys	
WUDFWpdFs	driver	system32\DRIVERS\WUDFRd.sys	
WUDFWpdMtp	driver	system32\DRIVERS\WUDFRd.sys	
WwanSvc	svchost	%SystemRoot%\system32\svchost.exe -k -k netsvcs -p	%SystemRoot%\System32\wwansvc.dll
XblAuthManager	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\XblAuthManager.dll
XblGameSave	svchost	%SystemRoot%\system32\svchost.exe -k netsvcs -p	%SystemRoot%\System32\XblGameSave.dll
xboxgip	driver	System32\drivers\xboxgip.sys	
"""

STOCK: tuple[StockService, ...] = tuple(
    StockService(name, kind, image, dll or None)
    for name, kind, image, dll in (line.split("\t") for line in _ROWS.strip("\n").splitlines())
)

__all__ = ["STOCK", "StockService"]
