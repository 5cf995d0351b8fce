#!/usr/bin/python3
# Prints the SQL that loads bangfu's demo data into an empty 001_core schema:
# the paired regions, real counties, vendors, products, batches and campaigns.
#
# Usage: /usr/bin/python3 scripts/demo_data.py > demo.sql
#
# Standard library only and deterministic (random.Random(2026)): the same run
# prints the same SQL.  Rows refer to each other by code, e-mail, credit code
# and title, never by id, and the script ends by checking every count, so a
# lookup that silently found nothing aborts the transaction.

import datetime
import json
import random
import sys

rng = random.Random(2026)

ADMIN = "admin@demo.bangfu.cn"
DEMO_VENDOR_EMAIL = "vendor@demo.bangfu.cn"
NOW = datetime.date(2026, 11, 28)  # the demo's "today": nothing is later


def q(s):
    """A SQL string literal; NULL for None."""
    if s is None:
        return "NULL"
    return "'" + str(s).replace("'", "''") + "'"


def lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return q(v)


def values(rows):
    return ",\n".join("    (" + ", ".join(lit(v) for v in r) + ")"
                      for r in rows)


def ts(dt):
    return dt.strftime("%Y-%m-%d %H:%M:%S") + "+08:00"


def rand_dt(start, end):
    """A datetime between two dates, during working hours."""
    days = (end - start).days
    d = start + datetime.timedelta(days=rng.randint(0, max(days, 0)))
    return datetime.datetime(d.year, d.month, d.day, rng.randint(8, 21),
                             rng.randint(0, 59), rng.randint(0, 59))


# ---------------------------------------------------------------- regions

REGIONS = [
    ("yunnan", "云南", "协作",
     "彩云之南，沪滇扶贫协作。普洱茶、文山三七、小粒咖啡、梯田红米与高原特色农产品，"
     "连接澜沧江、怒江与哈尼梯田的山区农户。"),
    ("zunyi", "贵州遵义", "协作",
     "沪遵扶贫协作。湄潭翠芽、遵义红、正安白茶、赤水晒醋与仡佬族腊味，"
     "黔北山地的好茶好物。"),
    ("kashgar", "新疆喀什", "支援",
     "上海对口支援巴楚、莎车、泽普、叶城四县。昆仑山下的核桃、巴旦木、骏枣与留香瓜，"
     "阳光充足，瓜果香甜。"),
    ("shigatse", "西藏日喀则", "支援",
     "上海对口支援亚东、江孜、拉孜、定日、萨迦五县。亚东鲑鱼、江孜青稞、藏香、卡垫，"
     "还有珠峰脚下的高原旅程。"),
    ("golog", "青海果洛", "支援",
     "上海对口支援果洛六县。三江源头的牦牛肉、藏羊、黑枸杞与蕨麻，"
     "年保玉则与黄河源的生态之旅。"),
]

PROV = {"yunnan": "YN", "zunyi": "GZ", "kashgar": "XJ",
        "shigatse": "XZ", "golog": "QH"}

# ---------------------------------------------------------------- counties
# code, region, prefecture, name, poverty county, administrative division

COUNTIES = [
    ("lancang", "yunnan", "普洱市", "澜沧拉祜族自治县", True, "530828"),
    ("menglian", "yunnan", "普洱市", "孟连傣族拉祜族佤族自治县", True, "530827"),
    ("ximeng", "yunnan", "普洱市", "西盟佤族自治县", True, "530829"),
    ("mojiang", "yunnan", "普洱市", "墨江哈尼族自治县", True, "530822"),
    ("menghai", "yunnan", "西双版纳州", "勐海县", False, "532822"),
    ("wenshan", "yunnan", "文山州", "文山市", False, "532601"),
    ("yanshan", "yunnan", "文山州", "砚山县", True, "532622"),
    ("malipo", "yunnan", "文山州", "麻栗坡县", True, "532624"),
    ("lushui", "yunnan", "怒江州", "泸水市", True, "533301"),
    ("fugong", "yunnan", "怒江州", "福贡县", True, "533323"),
    ("gongshan", "yunnan", "怒江州", "贡山独龙族怒族自治县", True, "533324"),
    ("lanping", "yunnan", "怒江州", "兰坪白族普米族自治县", True, "533325"),
    ("yuanyang", "yunnan", "红河州", "元阳县", True, "532528"),
    ("lvchun", "yunnan", "红河州", "绿春县", True, "532531"),
    ("dayao", "yunnan", "楚雄州", "大姚县", True, "532326"),
    ("wuding", "yunnan", "楚雄州", "武定县", True, "532329"),
    ("huaping", "yunnan", "丽江市", "华坪县", False, "530723"),
    ("zhengan", "zunyi", "遵义市", "正安县", True, "520324"),
    ("daozhen", "zunyi", "遵义市", "道真仡佬族苗族自治县", True, "520325"),
    ("wuchuan", "zunyi", "遵义市", "务川仡佬族苗族自治县", True, "520326"),
    ("meitan", "zunyi", "遵义市", "湄潭县", False, "520328"),
    ("fenggang", "zunyi", "遵义市", "凤冈县", True, "520327"),
    ("chishui", "zunyi", "遵义市", "赤水市", False, "520381"),
    ("xishui", "zunyi", "遵义市", "习水县", True, "520330"),
    ("tongzi", "zunyi", "遵义市", "桐梓县", True, "520322"),
    ("yecheng", "kashgar", "喀什地区", "叶城县", True, "653126"),
    ("bachu", "kashgar", "喀什地区", "巴楚县", True, "653130"),
    ("shache", "kashgar", "喀什地区", "莎车县", True, "653125"),
    ("zepu", "kashgar", "喀什地区", "泽普县", True, "653124"),
    ("yadong", "shigatse", "日喀则市", "亚东县", True, "540233"),
    ("jiangzi", "shigatse", "日喀则市", "江孜县", True, "540222"),
    ("dingri", "shigatse", "日喀则市", "定日县", True, "540223"),
    ("sajia", "shigatse", "日喀则市", "萨迦县", True, "540224"),
    ("lazi", "shigatse", "日喀则市", "拉孜县", True, "540225"),
    ("maqin", "golog", "果洛州", "玛沁县", True, "632621"),
    ("banma", "golog", "果洛州", "班玛县", True, "632622"),
    ("gande", "golog", "果洛州", "甘德县", True, "632623"),
    ("dari", "golog", "果洛州", "达日县", True, "632624"),
    ("jiuzhi", "golog", "果洛州", "久治县", True, "632625"),
    ("maduo", "golog", "果洛州", "玛多县", True, "632626"),
]
COUNTY = {c[0]: c for c in COUNTIES}

CATEGORIES = [
    ("tea", "茶叶"), ("nuts", "坚果干果"), ("fruit", "生鲜水果"),
    ("grain", "米面粮油"), ("meat", "肉禽蛋品"), ("herbs", "滋补药材"),
    ("specialty", "地方特产"), ("craft", "文创手工"), ("tourism", "乡村旅游"),
    ("wellness", "康养服务"),
]

DEMO_USERS = [
    (ADMIN, "平台运营 陈静", "admin"),
    ("citizen@demo.bangfu.cn", "市民 张伟", "citizen"),
    (DEMO_VENDOR_EMAIL, "岩温（景迈山古茶合作社）", "vendor"),
    ("buyer@demo.bangfu.cn", "采购专员 刘洋", "citizen"),
    ("approver@demo.bangfu.cn", "审批人 周建国", "citizen"),
]

# Contact persons of the vendors, by region.
CONTACTS = {
    "yunnan": ["李国华", "扎约", "岩罕", "杨家富", "普文明", "罗小梅", "娜拉",
               "和建伟", "李春芬", "白永红", "余金花", "张志强", "陶正荣",
               "木文光", "普学军", "罗永昌", "杞春林", "龙正平", "施美兰"],
    "zunyi": ["王德明", "冉光荣", "申小红", "韩雪梅", "黎明富", "骆家贵",
              "谯正刚", "陈永芳", "杨再兴", "赵秀英",
              "邹德芬", "母昌林"],
    "kashgar": ["阿卜杜拉·买买提", "阿依古丽·吐尔逊", "艾力·热合曼",
                "古丽尼尕尔·艾买提", "买买提江·吾守尔", "努尔买买提·艾则孜",
                "热依拉·阿不都", "吐尔洪·麦麦提", "帕提古丽·艾海提",
                "如克亚·吾斯曼"],
    "shigatse": ["次仁多吉", "央金卓玛", "扎西平措", "格桑拉姆", "旦增尼玛",
                 "边巴次仁", "普布卓玛"],
    "golog": ["索南才让", "才让卓玛", "多杰加", "拉毛措", "桑杰本", "更尕措",
              "尕藏东智"],
}


# ---------------------------------------------------------------- catalog
# A product line: base title, category, description, variants
# "spec|unit|price_fen; ...".  An empty spec keeps the base title.

def G(base, cat, desc, variants, gi=False, farm=None, stock=None):
    return dict(base=base, cat=cat, desc=desc, variants=variants, gi=gi,
                farm=farm, kind="goods", stock=stock)


def S(base, cat, desc, variants):
    return dict(base=base, cat=cat, desc=desc, variants=variants, gi=False,
                farm=None, kind="service", stock=None)


# Vendor: key, county, kind, name, poor households linked, farm (origin
# base of its batches), description, products; status and the rest default
# to an approved, qualified vendor.
def V(key, county, kind, name, households, farm, desc, products, **kw):
    v = dict(key=key, county=county, kind=kind, name=name,
             households=households, farm=farm, desc=desc, products=products,
             status="approved", until="2027-12-31", credit=None,
             reason=None, email=None)
    v.update(kw)
    return v


VENDORS = [
    # ------------------------------------------------------------ yunnan
    V("jingmai", "lancang", "cooperative", "澜沧景迈山古茶专业合作社", 268,
      "景迈山芒景村古茶园基地",
      "景迈山布朗族、傣族茶农组建的合作社，管护芒景、景迈两村古茶园，"
      "“合作社+农户”统一采摘、统一初制，带动建档立卡户稳定增收。",
      [G("景迈山古树普洱生茶", "tea",
         "采自景迈山树龄百年以上的古茶树，春茶单株采摘，石磨压制，兰香幽雅，回甘生津。",
         "357g 饼|饼|39800", gi=True, stock=20),
       G("景迈山古树普洱生茶", "tea",
         "采自景迈山古茶园春茶，日光晒青，口感清甜，适合收藏转化。",
         "200g 饼|饼|23800; 七子饼 整提 2499g|提|268000", gi=True),
       G("景迈山大树普洱生茶", "tea",
         "景迈山生态大树茶，条索肥壮，汤色金黄透亮，花香明显。",
         "357g 饼|饼|16800; 100g 小饼|饼|5800", gi=True),
       G("景迈山普洱熟茶", "tea",
         "景迈山大叶种晒青毛茶渥堆发酵，汤色红浓，滋味醇和。",
         "357g 饼|饼|12800; 250g 砖|块|8800; 双饼礼盒 714g|盒|29800", gi=True),
       G("景迈山古树春茶 散茶", "tea",
         "古树春尖散茶，未经压制，冲泡方便，花蜜香高扬。",
         "250g 罐装|罐|26800"),
       G("景迈山古树晒红", "tea",
         "古树鲜叶萎凋揉捻后日光晒干，甜润带蜜香。",
         "250g 罐装|罐|15800"),
       S("普洱 景迈山茶园研学", "tourism",
         "走进景迈山千年万亩古茶林，跟随布朗族茶农采茶、杀青、揉捻、压饼，入住傣族村寨，"
         "含食宿与茶山向导。",
         "|人次|128000")]),
    V("lancanggucha", "lancang", "enterprise", "澜沧古茶有限公司", 156,
      "澜沧邦崴古茶园基地",
      "扎根澜沧的普洱茶企业，以“企业+合作社+农户”收购邦崴、景迈鲜叶，订单保底价收购。",
      [G("邦崴古树普洱生茶", "tea",
         "采自澜沧邦崴村古茶园，条索肥壮，汤色金黄，回甘持久。",
         "357g 饼|饼|46800; 200g 饼|饼|26800", gi=True),
       G("澜沧普洱熟茶", "tea",
         "选用澜沧大叶种晒青毛茶，传统渥堆发酵，汤色红浓，滋味醇厚。",
         "357g 饼|饼|13800; 250g 砖|块|9800; 500g 散茶 罐装|罐|16800",
         gi=True),
       G("澜沧古树白茶", "tea",
         "大叶种古树鲜叶日光萎凋，毫香显，滋味清甜。",
         "200g 饼|饼|18800; 100g 罐装|罐|9800"),
       G("普洱小青柑", "tea",
         "新会青柑与澜沧熟普合制，柑香与陈香交融。",
         "250g 罐装|罐|8800; 500g 礼盒|盒|16800")]),
    V("nayun", "menglian", "cooperative", "孟连县娜允咖啡种植专业合作社", 210,
      "孟连娜允镇咖啡种植基地",
      "孟连县傣族、拉祜族咖农合作社，统一鲜果收购与湿法处理，带动山区农户种咖增收。",
      [G("孟连小粒咖啡 中深烘焙豆", "specialty",
         "孟连高海拔山地种植的阿拉比卡小粒咖啡，日晒与水洗处理，坚果与焦糖风味。",
         "250g 袋|袋|4800; 500g 袋|袋|8800; 1kg 袋|袋|16800"),
       G("孟连小粒咖啡 挂耳", "specialty",
         "现磨小粒咖啡分装挂耳，热水即冲，办公出差方便。",
         "10g×10包 盒|盒|4900; 10g×30包 盒|盒|12900"),
       G("孟连小粒咖啡 生豆", "specialty",
         "精选 SHB 级生豆，适合自家烘焙。",
         "1kg 袋|袋|9800"),
       G("孟连牛油果", "fruit",
         "孟连山地种植的哈斯牛油果，树上自然成熟，果肉细腻如黄油。",
         "2.5kg 箱|箱|6990; 5kg 箱|箱|12800")]),
    V("washan", "ximeng", "enterprise", "西盟佤山农特产品有限公司", 96,
      "西盟勐梭镇生态种植基地",
      "收购西盟佤族群众的红米、野生菌和土蜂蜜，统一分拣包装销售。",
      [G("西盟佤族红米", "grain",
         "佤山梯田种植的老品种红米，米粒细长，煮饭香糯。",
         "2.5kg 袋|袋|5980; 5kg 袋|袋|10800"),
       G("佤山野生鸡枞菌 干货", "specialty",
         "雨季采自佤山林下的野生鸡枞，切片晾晒，菌香浓郁。",
         "100g 袋|袋|6800; 250g 罐|罐|15800"),
       G("西盟佤山土蜂蜜", "specialty",
         "中华蜂采集山花酿制，一年一取，结晶细腻。",
         "500g 瓶|瓶|6800")],
      until="2026-06-30", credit=82, created=(2024, 6)),
    V("zimi", "mojiang", "cooperative", "墨江县紫米专业合作社", 188,
      "墨江联珠镇紫米种植基地",
      "北回归线上的墨江紫米合作社，统一供种、统一收购，带动哈尼族农户种植。",
      [G("墨江紫米", "grain",
         "北回归线上的墨江紫米，米色紫黑，宜煮粥、蒸糕、酿酒。",
         "1kg 袋|袋|2980; 2.5kg 袋|袋|6980; 5kg 袋|袋|12800", gi=True),
       G("墨江紫米礼盒", "grain",
         "墨江紫米真空小包装礼盒，每袋 500g。",
         "2kg|盒|9800", gi=True),
       G("墨江紫米糕", "specialty",
         "以紫米为主料蒸制，软糯微甜，复热即食。",
         "500g 袋|袋|2680")]),
    V("bulang", "menghai", "enterprise", "勐海县布朗山茶业有限公司", 64,
      "勐海布朗山乡茶园基地",
      "勐海茶区的普洱茶企业，与布朗山乡茶农签订鲜叶收购协议。",
      [G("布朗山普洱生茶", "tea",
         "布朗山大叶种晒青毛茶压制，茶气足，苦后回甘。",
         "357g 饼|饼|22800; 200g 饼|饼|13800", gi=True),
       G("勐海普洱熟茶", "tea",
         "勐海传统渥堆工艺，汤色红亮，陈香显。",
         "357g 饼|饼|12800; 100g 沱茶 5粒装|盒|6800; 1kg 砖|块|32800",
         gi=True),
       G("勐海普洱茶 年份礼盒", "tea",
         "2019 年压制熟茶双饼，仓储干净，汤感顺滑。",
         "2019年熟茶 357g×2|盒|35800")]),
    V("miaoxiang", "wenshan", "enterprise", "文山市苗乡三七种植有限公司", 120,
      "文山古木镇三七GAP种植基地",
      "文山三七规范化种植企业，流转土地雇用周边农户务工。",
      [G("文山三七粉", "herbs",
         "选用三年生文山三七主根超细研磨，粉质细腻。",
         "100g 罐|罐|5980; 250g 罐|罐|13800; 500g 礼盒|盒|26800", gi=True),
       G("文山三七 30头", "herbs",
         "三年生三七主根，每 500 克约 30 头，可打粉或炖汤。",
         "250g 盒|盒|16800; 500g 盒|盒|32800", gi=True),
       G("文山三七花", "herbs",
         "三七花蕾晒干，可泡茶饮用。",
         "100g 罐|罐|4980")]),
    V("yanshanlajiao", "yanshan", "cooperative", "砚山县辣椒种植专业合作社", 236,
      "砚山县维摩乡辣椒种植基地",
      "砚山辣椒种植合作社，订单收购农户鲜椒，统一烘干分级。",
      [G("砚山干辣椒", "specialty",
         "砚山丘北辣椒系列，色泽红亮，香辣适中。",
         "500g 袋|袋|2680; 1kg 袋|袋|4980; 2.5kg 袋|袋|11800"),
       G("砚山油辣椒", "specialty",
         "本地菜籽油熬制，香脆不燥，拌面下饭。",
         "280g 罐|罐|1890; 280g×3罐 组合|组|5290"),
       G("砚山三七 20头", "herbs",
         "砚山红土地种植的三年生三七，每 500 克约 20 头。",
         "250g 盒|盒|19800")]),
    V("laoshan", "malipo", "cooperative", "麻栗坡县老山农特产品专业合作社", 142,
      "麻栗坡县天保镇八角种植基地",
      "收购麻栗坡边境山区的八角、老山茶与蜂蜜，带动边民增收。",
      [G("麻栗坡八角", "specialty",
         "麻栗坡大红八角，角瓣肥厚，香气浓郁。",
         "250g 袋|袋|2280; 500g 袋|袋|3980"),
       G("麻栗坡老山绿茶", "tea",
         "老山云雾环境下生长，滋味鲜爽，栗香显。",
         "100g 罐|罐|4280; 250g 罐|罐|9800"),
       G("麻栗坡百花蜂蜜", "specialty",
         "边境山区百花蜜，自然成熟。",
         "500g 瓶|瓶|5800")]),
    V("laowo", "lushui", "individual", "泸水市老窝火腿加工店", 18,
      "泸水市老窝镇火腿腌制坊",
      "家庭作坊按传统工艺腌制老窝火腿，收购周边农户散养黑猪。",
      [G("老窝火腿 整腿", "meat",
         "选用怒江高山散养黑猪后腿，盐腌后自然发酵两年以上。",
         "约5kg|只|69800", gi=True),
       G("老窝火腿 切片", "meat",
         "老窝火腿去骨切片真空包装，蒸炒皆宜。",
         "500g 袋|袋|12800; 250g×2 礼盒|盒|26800", gi=True),
       G("老窝火腿 筒子骨", "meat",
         "火腿骨炖汤，汤色奶白，咸香浓郁。",
         "1kg 袋|袋|3980")]),
    V("fugongcaoguo", "fugong", "cooperative", "福贡县草果种植专业合作社", 312,
      "福贡县石月亮乡草果林下种植基地",
      "怒江峡谷傈僳族农户的草果合作社，林下种植不砍一棵树。",
      [G("怒江草果", "specialty",
         "怒江峡谷林下种植的草果，果大饱满，香味浓烈，炖肉佳品。",
         "500g 袋|袋|3680; 1kg 袋|袋|6880", gi=True),
       G("福贡漆油", "specialty",
         "傈僳族传统漆树籽油，炖鸡必备。",
         "500g 罐|罐|8800"),
       G("怒江峡谷核桃", "nuts",
         "怒江峡谷坡地老核桃树所产，香味浓。",
         "500g 袋|袋|3280; 1kg 袋|袋|5980")]),
    V("dulongjiang", "gongshan", "enterprise", "贡山独龙江农特产品有限公司", 175,
      "贡山县独龙江乡种植基地",
      "独龙江乡的农特产品企业，收购独龙族群众的蜂蜜、草果与手工独龙毯。",
      [G("独龙江野生蜂蜜", "specialty",
         "采自独龙江原始森林的岩蜂蜜，一年一取。",
         "250g 瓶|瓶|6800; 500g 瓶|瓶|12800"),
       G("独龙毯 手工织", "craft",
         "独龙族妇女手工织造的彩色条纹毯，非遗技艺。",
         "1.2m×1.8m|条|68000; 围巾款|条|18800"),
       G("独龙江草果", "specialty",
         "独龙江乡林下草果，颗粒饱满。",
         "1kg 袋|袋|7280", gi=True)]),
    V("lanpingyaocai", "lanping", "cooperative", "兰坪县中药材种植专业合作社", 204,
      "兰坪县通甸镇中药材种植基地",
      "兰坪高寒山区的中药材合作社，推广云当归、重楼、黄精种植。",
      [G("兰坪云当归 片", "herbs",
         "高寒山区种植的云当归，切片晒干，香气浓。",
         "250g 袋|袋|5800; 500g 袋|袋|10800"),
       G("兰坪黄精", "herbs",
         "多花黄精九蒸九晒，可直接嚼食或泡茶。",
         "250g 罐|罐|9800"),
       G("兰坪重楼 干片", "herbs",
         "人工种植七年生滇重楼，切片干燥。",
         "100g 袋|袋|16800"),
       G("兰坪高原马铃薯", "fruit",
         "海拔 2600 米种植的黄心马铃薯，粉糯。",
         "5kg 箱|箱|3980")]),
    V("titian", "yuanyang", "cooperative", "元阳县梯田红米专业合作社", 356,
      "元阳哈尼梯田核心区种植基地",
      "哈尼梯田核心区的红米合作社，坚持稻鱼鸭共生，高于市价收购农户红谷。",
      [G("元阳梯田红米", "grain",
         "哈尼梯田千年稻作系统出产的红米，米粒饱满，糯香。",
         "2.5kg 袋|袋|6800; 5kg 袋|袋|12800; 礼盒 4kg|盒|16800", gi=True),
       G("梯田鸭蛋", "meat",
         "稻鱼鸭共生系统中放养的梯田鸭所产，蛋黄橙红。",
         "30枚 盒|盒|6800"),
       G("梯田稻花鱼 干", "meat",
         "梯田稻花鱼烟熏晾干，哈尼人家待客佳肴。",
         "250g 袋|袋|5800"),
       S("元阳哈尼梯田 摄影两日游", "tourism",
         "多依树日出、坝达日落与老虎嘴梯田，住哈尼蘑菇房，含向导与早晚餐。",
         "|人次|98000")]),
    V("mayu", "lvchun", "enterprise", "绿春县玛玉茶有限公司", 228,
      "绿春县大兴镇玛玉茶园",
      "绿春玛玉茶龙头企业，订单收购哈尼族茶农鲜叶。",
      [G("绿春玛玉茶", "tea",
         "哈尼族传统名茶，条索紧细，滋味浓醇。",
         "250g 罐|罐|8800; 500g 袋|袋|15800; 礼盒 2×125g|盒|12800", gi=True),
       G("绿春滇红", "tea",
         "大叶种工夫红茶，金毫显露，甜香浓。",
         "250g 罐|罐|9800"),
       G("绿春哈尼黄牛肉干", "meat",
         "山地放养黄牛，炭火烘烤，香辣耐嚼。",
         "200g 袋|袋|5980")]),
    V("dayaohetao", "dayao", "cooperative", "大姚县核桃专业合作社", 288,
      "大姚县三台乡核桃种植基地",
      "大姚三台核桃合作社，统一脱青皮、烘干、分级，带动彝族农户增收。",
      [G("大姚核桃", "nuts",
         "大姚三台薄壳核桃，壳薄易剥，仁白味香。",
         "500g 袋|袋|3590; 1kg 袋|袋|6800; 2.5kg 箱|箱|15800", gi=True),
       G("大姚核桃仁", "nuts",
         "手工剥取的整仁，低温烘焙。",
         "250g 袋|袋|3980; 500g 罐|罐|7480"),
       G("大姚核桃油", "grain",
         "大姚核桃仁物理冷榨，适合婴幼儿辅食与凉拌。",
         "500ml 瓶|瓶|8800")]),
    V("zhuangji", "wuding", "cooperative", "武定县壮鸡养殖专业合作社", 265,
      "武定县狮山镇林下养殖基地",
      "武定壮鸡林下养殖合作社，统一供苗、防疫、收购。",
      [G("武定壮鸡", "meat",
         "林下散养一年以上的武定阉鸡，肉质紧实，炖汤鲜美。",
         "整只 约2kg|只|19800", gi=True),
       G("武定土鸡蛋", "meat",
         "林下散养土鸡所产，个小黄大。",
         "30枚 盒|盒|5980; 60枚 箱|箱|10800")]),
    V("huapingmango", "huaping", "cooperative", "华坪县芒果专业合作社", 90,
      "华坪县荣将镇芒果种植基地",
      "金沙江干热河谷的晚熟芒果合作社，统一品牌、统一冷链。",
      [G("华坪芒果", "fruit",
         "金沙江干热河谷晚熟芒果，香甜多汁，纤维少。",
         "5kg 箱|箱|8800; 10kg 箱|箱|15800", gi=True),
       G("华坪芒果干", "fruit",
         "成熟芒果低温烘制，不添加色素。",
         "200g 袋|袋|2680; 500g 袋|袋|5980")]),
    V("xianhuabing", "wuding", "individual", "武定县彝家鲜花饼坊", 12,
      "武定县彝家鲜花饼坊玫瑰园",
      "彝族家庭作坊，自种食用玫瑰手工做鲜花饼，收购周边山民的野生菌。",
      [G("玫瑰鲜花饼", "specialty",
         "自种食用玫瑰熬制花酱手工包制，酥皮层层。",
         "6枚 盒|盒|3280; 10枚 盒|盒|4980; 礼盒 20枚|盒|9800"),
       G("云南野生菌 牛肝菌干片", "specialty",
         "雨季采集的野生牛肝菌切片烘干。",
         "100g 袋|袋|5980; 250g 罐|罐|13800"),
       G("云南野生菌 羊肚菌干货", "specialty",
         "高山羊肚菌，菌盖完整。",
         "50g 罐|罐|9800")]),
    # ------------------------------------------------------------ zunyi
    V("meitancha", "meitan", "cooperative", "湄潭县茶农专业合作社", 186,
      "湄潭县核桃坝村茶园基地",
      "湄潭核桃坝茶农合作社，统一生产标准，带动周边乡镇茶农。",
      [G("湄潭翠芽 特级", "tea",
         "扁平光滑，形似葵花籽，栗香浓郁，明前采摘。",
         "100g 罐|罐|9800; 250g 罐|罐|22800; 礼盒 2×100g|盒|19800", gi=True),
       G("遵义红 工夫红茶", "tea",
         "金毫显露，汤色红亮，甜香持久。",
         "100g 罐|罐|6800; 250g 罐|罐|16800", gi=True),
       S("湄潭茶海 康养四日", "wellness",
         "住茶海之心生态茶园，晨起茶园太极，品茗、制茶与药膳调理，含食宿与接送。",
         "|人次|238000")]),
    V("chaxiangcun", "meitan", "enterprise", "湄潭县茶香村茶业有限公司", 80,
      "湄潭县兴隆镇茶园基地",
      "湄潭茶叶加工企业，与贫困村合作社签订鲜叶长期收购协议。",
      [G("湄潭翠芽 一级", "tea",
         "湄潭翠芽一级，滋味鲜醇，性价比高。",
         "250g 袋|袋|12800; 500g 袋|袋|23800", gi=True),
       G("湄潭茶籽油", "grain",
         "油茶籽压榨，烟点高，适合炒菜。",
         "500ml 瓶|瓶|8800; 1L 瓶|瓶|15800"),
       G("遵义红 袋泡茶", "tea",
         "遵义红碎茶袋泡，办公室方便冲泡。",
         "2g×30袋 盒|盒|4800")]),
    V("zhenganbaicha", "zhengan", "cooperative", "正安县白茶专业合作社", 246,
      "正安县桴焉镇白茶基地",
      "正安白茶合作社，茶园建在贫困村，采茶季吸纳农户务工。",
      [G("正安白茶", "tea",
         "白叶一号引种正安高山，氨基酸含量高，滋味鲜爽。",
         "100g 罐|罐|12800; 250g 罐|罐|29800", gi=True),
       G("正安天麻 干片", "herbs",
         "林下仿野生种植的乌天麻，切片干燥。",
         "250g 袋|袋|9800")]),
    V("guitar", "zhengan", "enterprise", "正安吉他文创有限公司", 120,
      "正安国际吉他园",
      "正安国际吉他产业园企业，吸纳易地扶贫搬迁群众就业。",
      [G("正安吉他 41寸面单民谣吉他", "craft",
         "正安国际吉他园制造，云杉面单，音色明亮。",
         "|把|128000"),
       G("正安吉他 38寸初学古典吉他", "craft",
         "尼龙弦古典吉他，手感柔和，适合初学。",
         "|把|59800"),
       G("正安吉他 23寸尤克里里", "craft",
         "桃花心木尤克里里，附琴包。",
         "|把|29800")]),
    V("huidoufu", "daozhen", "cooperative", "道真县灰豆腐果加工专业合作社", 198,
      "道真县玉溪镇豆制品加工基地",
      "仡佬族传统豆制品合作社，收购本地黄豆，吸纳留守妇女务工。",
      [G("道真灰豆腐果", "specialty",
         "仡佬族传统小吃，以草木灰焙制的豆腐果，烧烤、炖煮皆宜。",
         "500g 袋|袋|2980; 1kg 袋|袋|5480; 2kg 箱|箱|9800"),
       G("道真菜籽油", "grain",
         "本地油菜籽古法压榨，菜籽香浓。",
         "1.8L 瓶|瓶|5280; 5L 桶|桶|12800"),
       G("道真硒锶绿茶", "tea",
         "大娄山脉富硒锶土壤出产的绿茶。",
         "250g 罐|罐|8800")]),
    V("gelaolawei", "wuchuan", "individual", "务川县仡佬腊味坊", 26,
      "务川县都濡街道腊味坊",
      "仡佬族家庭腊味作坊，收购周边农户的土猪肉与白山羊。",
      [G("务川仡佬族腊肉", "meat",
         "柴火烟熏三月，肥瘦相间，腊香浓郁。",
         "500g 袋|袋|6800; 1kg 袋|袋|12800; 礼盒 2kg|盒|26800"),
       G("务川仡佬族腊香肠", "meat",
         "土猪肉手工灌制，麻辣与五香两味。",
         "500g 袋|袋|5800"),
       G("务川白山羊 带骨羊肉", "meat",
         "务川白山羊山地放养，肉质细嫩。",
         "2kg 箱|箱|23800", gi=True)]),
    V("fenggangcha", "fenggang", "enterprise", "凤冈县锌硒茶业有限公司", 132,
      "凤冈县永安镇田坝茶园",
      "凤冈锌硒茶企业，在田坝村建有标准化茶园，茶农以土地入股分红。",
      [G("凤冈锌硒绿茶", "tea",
         "富锌富硒土壤，豆香显，回甘快。",
         "250g 罐|罐|9800; 500g 袋|袋|18800", gi=True),
       G("凤冈锌硒红茶", "tea",
         "锌硒茶园夏秋茶制红茶，甜醇。",
         "250g 罐|罐|10800"),
       G("凤冈锌硒抹茶", "tea",
         "覆盖遮阴栽培碾磨，适合烘焙与冲饮。",
         "100g 罐|罐|6800")]),
    V("chishuicu", "chishui", "enterprise", "赤水市晒醋酿造有限公司", 58,
      "赤水市天台镇晒醋酿造基地",
      "赤水晒醋传统酿造企业，同时收购农户种植的金钗石斛与竹笋。",
      [G("赤水晒醋", "specialty",
         "以麸皮、糯米为料，天然发酵晒制一年，醋香醇厚。",
         "500ml 瓶|瓶|1680; 2.5L 桶|桶|5980; 礼盒 500ml×4|盒|8800",
         gi=True),
       G("赤水金钗石斛 干条", "herbs",
         "丹霞石壁仿野生种植的金钗石斛。",
         "50g 罐|罐|16800; 100g 罐|罐|31800", gi=True),
       G("赤水竹笋 干", "specialty",
         "赤水楠竹春笋切片晒干，泡发后炖肉。",
         "250g 袋|袋|3680")]),
    V("mayang", "xishui", "cooperative", "习水县麻羊养殖专业合作社", 224,
      "习水县良村镇麻羊养殖基地",
      "习水麻羊养殖合作社，“合作社+农户”代养分红。",
      [G("习水麻羊 带骨羊肉", "meat",
         "黔北山地放养的习水麻羊，肉质细嫩，膻味轻。",
         "1kg 袋|袋|13800; 2kg 箱|箱|25800", gi=True),
       G("习水红稗米", "grain",
         "习水高山红稗，可煮饭、熬粥。",
         "2.5kg 袋|袋|5800"),
       G("习水土鸡", "meat",
         "林下放养一年的土鸡，宰杀后冷链发货。",
         "整只 约1.5kg|只|16800")]),
    V("fangzhusun", "tongzi", "cooperative", "桐梓县方竹笋专业合作社", 178,
      "桐梓县狮溪镇方竹林基地",
      "桐梓方竹笋合作社，组织农户采笋、加工，兼营避暑康养。",
      [G("桐梓方竹笋 干", "specialty",
         "大娄山方竹林秋季采收，笋身方正，脆嫩清香。",
         "250g 袋|袋|4280; 500g 袋|袋|7980", gi=True),
       G("桐梓方竹笋 鲜笋", "fruit",
         "秋季现采方竹鲜笋，冷链到家。",
         "2kg 箱|箱|6800"),
       S("桐梓 娄山关避暑康养 五日", "wellness",
         "海拔千米的方竹林间避暑，竹林步道、温泉与黔北农家菜，含食宿。",
         "|人次|168000")]),
    # ------------------------------------------------------------ kashgar
    V("yechenghetao", "yecheng", "cooperative", "叶城县核桃种植专业合作社", 420,
      "叶城县伯西热克乡核桃基地",
      "叶城县核桃合作社，统一收购、清洗、烘干，保护价收购农户核桃。",
      [G("叶城核桃 薄皮", "nuts",
         "昆仑山北麓日照充足，壳薄如纸，手捏即开，仁饱满。",
         "500g 袋|袋|3990; 1kg 袋|袋|7580; 2.5kg 箱|箱|17800; 礼盒 1.5kg|盒|12800",
         gi=True),
       G("叶城核桃仁", "nuts",
         "叶城薄皮核桃手工取仁，色泽浅黄。",
         "250g 袋|袋|3880; 500g 罐|罐|7280", gi=True),
       G("叶城石榴", "fruit",
         "叶城软籽石榴，籽粒晶莹，酸甜可口。",
         "5kg 箱|箱|7980; 8个 礼盒|盒|6880")]),
    V("kunlunguoye", "yecheng", "enterprise", "叶城县昆仑山果业有限公司", 160,
      "叶城县依力克其乡果园",
      "叶城果品加工企业，订单收购石榴、杏子，吸纳农民在加工车间就业。",
      [G("叶城石榴汁", "specialty",
         "叶城石榴 NFC 鲜榨，不加水不加糖。",
         "250ml×12瓶 箱|箱|9800"),
       G("叶城树上干杏", "nuts",
         "杏子在树上自然风干，果肉软糯。",
         "500g 袋|袋|3280; 1kg 袋|袋|5980"),
       G("叶城核桃 五香味", "nuts",
         "薄皮核桃五香味煮制烘干，开袋即食。",
         "500g 袋|袋|4680")]),
    V("liuxianggua", "bachu", "cooperative", "巴楚县留香瓜种植专业合作社", 380,
      "巴楚县三岔口镇留香瓜基地",
      "巴楚留香瓜合作社，统一育苗、统一标准、统一销售。",
      [G("巴楚留香瓜", "fruit",
         "巴楚特有甜瓜品种，瓜香浓郁，清甜多汁。",
         "2个装 约3kg|箱|5980; 4个装 约6kg|箱|10800", gi=True),
       G("巴楚蘑菇 干", "specialty",
         "塔克拉玛干沙漠边缘胡杨林下自然生长的野生蘑菇，菌香独特。",
         "100g 袋|袋|12800", gi=True)]),
    V("aiyiguli", "bachu", "individual", "巴楚县阿依古丽手工艺品店", 8,
      "巴楚县色力布亚镇手工作坊",
      "维吾尔族手工艺个体店，组织周边妇女居家刺绣。",
      [G("艾德莱斯绸 丝巾", "craft",
         "维吾尔族传统扎经染色丝绸，色彩绚丽。",
         "90cm×90cm|条|26800; 长款 180cm|条|32800"),
       G("维吾尔族手工花帽", "craft",
         "手工刺绣巴旦木花纹花帽。",
         "|顶|16800")]),
    V("badanmu", "shache", "cooperative", "莎车县巴旦木专业合作社", 395,
      "莎车县阿瓦提镇巴旦木基地",
      "莎车巴旦木合作社，保护价收购农户巴旦木，统一开口、分级。",
      [G("莎车巴旦木", "nuts",
         "纸皮巴旦木，果仁饱满，香脆。",
         "500g 袋|袋|4580; 1kg 袋|袋|8680; 礼盒 1.2kg|盒|11800", gi=True),
       G("莎车巴旦木仁", "nuts",
         "去壳巴旦木仁，原味烘焙。",
         "250g 罐|罐|4280", gi=True),
       G("莎车树上干杏", "nuts",
         "叶尔羌河畔杏园，树上自然风干。",
         "500g 袋|袋|3480")]),
    V("junzao", "zepu", "enterprise", "泽普县骏枣加工有限公司", 210,
      "泽普县依克苏乡红枣基地",
      "泽普红枣加工企业，收购农户骏枣，分级清洗包装。",
      [G("泽普骏枣 特级", "nuts",
         "叶尔羌河冲积平原种植，个大皮薄肉厚。",
         "500g 袋|袋|2980; 1kg 袋|袋|5680; 2.5kg 箱|箱|12800", gi=True),
       G("喀什红枣夹核桃", "nuts",
         "骏枣去核夹叶城核桃仁，甜香酥脆。",
         "500g 罐|罐|5980; 礼盒 1kg|盒|10800")],
      credit=55),
    V("silu", "shache", "enterprise", "莎车县丝路文化旅游有限公司", 45,
      None,
      "莎车、泽普文旅企业，线路途经的民宿与餐饮由贫困户经营。",
      [S("喀什古城 叶尔羌 四日游", "tourism",
         "喀什古城、莎车阿曼尼莎汗纪念陵与叶尔羌汗国王陵，住维吾尔族民居。",
         "|人次|268000"),
       S("泽普金湖杨 胡杨林 两日游", "tourism",
         "秋季金湖杨国家森林公园胡杨林观光，含农家乐餐食。",
         "|人次|128000"),
       S("莎车 十二木卡姆 文化体验", "tourism",
         "聆听十二木卡姆演出，学做馕与手抓饭，半日体验。",
         "|人次|38000")]),
    # ------------------------------------------------------------ shigatse
    V("yadongsalmon", "yadong", "enterprise", "亚东县鲑鱼养殖有限公司", 66,
      "亚东县下司马镇冷水鱼养殖基地",
      "亚东鲑鱼冷水养殖企业，吸纳边境村群众务工并分红。",
      [G("亚东鲑鱼 冰鲜", "meat",
         "喜马拉雅雪山融水冷水养殖，肉质细嫩，冷链空运发货。",
         "1kg 整条|条|16800; 2kg 整条|条|31800", gi=True),
       G("亚东鲑鱼 烟熏鱼片", "meat",
         "亚东鲑鱼冷熏切片，即食。",
         "200g 袋|袋|8800", gi=True),
       G("亚东黑木耳", "specialty",
         "亚东沟原始林区段木黑木耳，肉厚。",
         "250g 袋|袋|5980")]),
    V("jiangziqingke", "jiangzi", "cooperative", "江孜县青稞专业合作社", 302,
      "江孜县年楚河谷青稞种植基地",
      "“西藏粮仓”江孜的青稞合作社，统一良种、统一收购加工。",
      [G("江孜青稞米", "grain",
         "年楚河谷高原青稞，β-葡聚糖丰富，可与大米同煮。",
         "2.5kg 袋|袋|4980; 5kg 袋|袋|8980"),
       G("江孜青稞糌粑", "grain",
         "炒熟磨粉的青稞面，藏族传统主食。",
         "1kg 袋|袋|3680"),
       G("江孜青稞挂面", "grain",
         "青稞粉与小麦粉制成，麦香浓。",
         "1kg 袋|袋|2980"),
       G("江孜青稞酒", "specialty",
         "江孜青稞传统酿造的低度青稞酒。",
         "500ml 瓶|瓶|5800")]),
    V("kadian", "jiangzi", "cooperative", "江孜县卡垫编织专业合作社", 88,
      "江孜县卡垫编织作坊",
      "江孜卡垫非遗传承合作社，藏族妇女居家编织计件增收。",
      [G("江孜卡垫 手工羊毛", "craft",
         "江孜卡垫非遗技艺，纯羊毛手工编织，植物染色。",
         "90cm×180cm|张|198000; 60cm×60cm 坐垫|张|48000"),
       G("江孜手工藏式背包", "craft",
         "卡垫边角料拼织的藏式背包。",
         "|个|28800")]),
    V("zongshan", "jiangzi", "enterprise", "江孜县宗山文化旅游有限公司", 40,
      None,
      "江孜文旅企业，线路使用当地藏家乐，向导与司机均为本地群众。",
      [S("日喀则江孜宗山古堡 三日游", "tourism",
         "宗山古堡、白居寺十万佛塔与帕拉庄园，住江孜藏式客栈，含包车与讲解。",
         "|人次|298000"),
       S("日喀则 白居寺 帕拉庄园 一日游", "tourism",
         "白居寺与帕拉庄园一日游，含讲解与藏餐午饭。",
         "|人次|58000"),
       S("日喀则 藏家乐 康养三日", "wellness",
         "入住江孜藏家乐，藏医药浴与青稞饮食调理。",
         "|人次|188000")]),
    V("lazizangdao", "lazi", "individual", "拉孜县堆谐藏刀加工店", 10,
      "拉孜县曲下镇藏刀作坊",
      "拉孜藏刀个体作坊，带徒传艺，收购本地青稞酒。",
      [G("拉孜藏刀", "craft",
         "拉孜藏刀非遗技艺，手工锻打，铜银錾花刀鞘。",
         "小号 20cm|把|38800; 中号 35cm|把|68800"),
       G("拉孜青稞酒 礼盒", "specialty",
         "拉孜青稞酿造，酒香清冽。",
         "500ml×2瓶|盒|12800")]),
    V("sajiazangxiang", "sajia", "cooperative", "萨迦县藏香制作专业合作社", 120,
      "萨迦县吉定镇藏香作坊",
      "萨迦藏香合作社，按传统配方手工制香，农牧民入社计件。",
      [G("萨迦藏香", "craft",
         "柏木粉与多种藏药材手工制成，香气清幽。",
         "手工线香 50支|盒|3800; 礼盒 3盒装|盒|10800"),
       G("萨迦黑陶 酥油茶壶", "craft",
         "萨迦黑陶手工拉坯烧制。",
         "|个|26800")]),
    V("dingrinaizha", "dingri", "cooperative", "定日县牦牛奶制品专业合作社", 236,
      "定日县岗嘎镇牧场",
      "珠峰脚下的牧民合作社，收购牦牛奶加工奶渣、酥油，兼营珠峰线路。",
      [G("定日牦牛奶渣", "specialty",
         "牦牛奶提取酥油后晾晒制成，奶香浓郁，可直接嚼食。",
         "250g 袋|袋|3980; 500g 袋|袋|7280"),
       G("定日牦牛酥油", "specialty",
         "高原牧场牦牛奶手工打制。",
         "500g 块|块|6800"),
       S("定日 珠峰大本营 五日游", "tourism",
         "日喀则出发经定日至珠峰大本营，住牧民帐篷客栈，含包车与边防证办理。",
         "|人次|398000")]),
    # ------------------------------------------------------------ golog
    V("maqinmaoniu", "maqin", "enterprise", "玛沁县牦牛肉制品有限公司", 268,
      "玛沁县大武镇牦牛养殖基地",
      "果洛牦牛肉加工企业，按订单收购牧户牦牛，牧民入股分红。",
      [G("果洛牦牛肉干 风干", "meat",
         "高原放牧牦牛，传统风干，越嚼越香。",
         "250g 袋|袋|8800; 500g 袋|袋|16800; 礼盒 1kg|盒|32800", gi=True),
       G("果洛牦牛肉 鲜切", "meat",
         "当日分割冷鲜牦牛肉，冷链到家。",
         "2kg 箱|箱|25800"),
       G("果洛牦牛手撕肉 五香", "meat",
         "牦牛后腿肉卤制手撕，即食。",
         "200g 袋|袋|6800")]),
    V("banmatechan", "banma", "cooperative", "班玛县高原特产专业合作社", 190,
      "班玛县玛柯河谷种植基地",
      "班玛牧民合作社，采集加工黑枸杞、蕨麻与藏雪茶。",
      [G("黑枸杞", "herbs",
         "高原黑枸杞，花青素含量高，泡水呈蓝紫色。",
         "50g 罐|罐|6800; 100g 罐|罐|12800; 250g 礼盒|盒|29800"),
       G("果洛蕨麻", "herbs",
         "俗称“人参果”，高原草甸野生，煮粥甜糯。",
         "250g 袋|袋|5280; 500g 袋|袋|9800", gi=True),
       G("班玛藏雪茶", "tea",
         "高山地衣类藏雪茶，清热解渴。",
         "100g 罐|罐|6800")]),
    V("gandemuye", "gande", "cooperative", "甘德县生态畜牧业专业合作社", 242,
      "甘德县柯曲镇生态牧场",
      "甘德牧民以草场与牲畜入股的生态畜牧业合作社。",
      [G("甘德藏羊 羊排", "meat",
         "高寒草原放养藏羊，肉质细嫩。",
         "1kg 袋|袋|15800"),
       G("甘德牦牛酸奶 冻干", "specialty",
         "牦牛奶发酵冻干，开袋即食。",
         "200g 袋|袋|4800"),
       G("甘德牦牛绒围巾", "craft",
         "牦牛绒手工纺织，轻柔保暖。",
         "|条|58800")]),
    V("tangka", "dari", "individual", "达日县格萨尔唐卡画坊", 6,
      "达日县格萨尔唐卡画坊",
      "格萨尔文化之乡的唐卡画坊，免费带教牧民子女学画。",
      [G("格萨尔唐卡 手绘", "craft",
         "达日画师手绘格萨尔王题材唐卡，天然矿物颜料。",
         "小幅 30cm×40cm|幅|280000; 中幅 50cm×70cm|幅|680000"),
       G("格萨尔唐卡 印刷装裱", "craft",
         "高清复制唐卡，手工装裱。",
         "|幅|28800")]),
    V("nianbao", "jiuzhi", "enterprise", "久治县年保玉则生态旅游有限公司", 86,
      None,
      "久治生态旅游企业，聘用牧民为生态管护员和向导。",
      [S("果洛年保玉则 生态游", "tourism",
         "年保玉则仙女湖、妖女湖徒步，住牧家帐篷，含向导与马匹。",
         "四日|人次|328000"),
       S("久治 牧家康养 三日", "wellness",
         "入住牧家，藏医药浴、酥油茶与草原漫步。",
         "|人次|158000"),
       G("年保玉则 明信片文创礼盒", "craft",
         "年保玉则风光摄影明信片 24 张。",
         "|盒|3800")]),
    V("maduozangyang", "maduo", "cooperative", "玛多县生态畜牧专业合作社", 214,
      "玛多县扎陵湖乡牧场",
      "黄河源头的牧民合作社，以草定畜，统一出栏销售藏羊。",
      [G("玛多藏羊 整只", "meat",
         "黄河源头高寒草原放养，肉质鲜嫩无膻味。",
         "约15kg|只|168000", gi=True),
       G("玛多藏羊 羊排", "meat",
         "藏羊肋排分割，冷链发货。",
         "1kg 袋|袋|16800; 2kg 箱|箱|31800", gi=True),
       G("玛多藏羊 羊腿", "meat",
         "整只后腿，适合烤制。",
         "约2kg|只|25800", gi=True)]),
    # ------------------------------------------------ pending and rejected
    V("wugu", "lanping", "cooperative", "兰坪县乌骨鸡养殖专业合作社", 76,
      "兰坪县啦井镇林下养殖基地",
      "兰坪乌骨鸡林下养殖合作社，申请入驻中。",
      [G("兰坪乌骨鸡", "meat",
         "高寒山区林下放养的乌骨鸡。",
         "整只 约1.5kg|只|18800")],
      status="pending_review", until=None),
    V("mumin", "gande", "individual", "甘德县牧民手工艺品店", 5,
      "甘德县牧民手工作坊",
      "牧民家庭手工艺店，申请入驻中。",
      [G("藏式手工皮具 钱包", "craft",
         "牦牛皮手工缝制。",
         "|个|16800")],
      status="pending_review", until=None),
    V("nuoxi", "daozhen", "enterprise", "道真县仡佬族文创有限公司", 40,
      "道真县傩城文创工坊",
      "仡佬族傩文化文创企业，申请入驻中。",
      [G("仡佬族傩戏面具 摆件", "craft",
         "手工雕刻彩绘傩戏面具。",
         "小号|个|19800; 大号|个|39800")],
      status="pending_review", until=None),
    V("huyangmi", "bachu", "cooperative", "巴楚县胡杨蜂蜜专业合作社", 64,
      "巴楚县胡杨林蜂场",
      "巴楚胡杨林蜂农合作社，申请入驻中。",
      [G("巴楚胡杨蜂蜜", "specialty",
         "胡杨林与红柳花期采集的蜂蜜。",
         "500g 瓶|瓶|6800; 1kg 瓶|瓶|12800")],
      status="pending_review", until=None),
    V("xinyuan", "shache", "enterprise", "莎车县鑫源商贸有限公司", 0,
      None, "日用百货批发。", [],
      status="rejected", until=None,
      reason="营业执照经营范围与申报品类不符，且未提供联农带贫的收购合同或务工名册。"),
]

LAPSED = "西盟佤山农特产品有限公司"
LOW_CREDIT = "泽普县骏枣加工有限公司"
STOCK20 = "景迈山古树普洱生茶 357g 饼"

# ------------------------------------------------------- credit codes
# GB 32100-2015: registration authority 9 (market regulation), type 1
# enterprise / 2 individual business / 3 farmers' cooperative, the county's
# division code, a GB 11714 organisation code and a check character.

UCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
UCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_W = [3, 7, 9, 10, 5, 8, 4, 2]


def org_code():
    body = [rng.randint(0, 9) for _ in range(8)]
    body[0] = rng.randint(1, 9) if body[0] == 0 else body[0]
    c = 11 - sum(d * w for d, w in zip(body, ORG_W)) % 11
    check = "X" if c == 10 else "0" if c == 11 else str(c)
    return "".join(map(str, body)) + check


def credit_code(kind, division):
    t = {"enterprise": "1", "individual": "2", "cooperative": "3"}[kind]
    s = "9" + t + division + org_code()
    c = 31 - sum(UCC_CHARS.index(ch) * w for ch, w in zip(s, UCC_W)) % 31
    return s + UCC_CHARS[0 if c == 31 else c]


# ---------------------------------------------------------------- build

def build():
    out = []
    w = out.append
    cat_names = dict(CATEGORIES)
    region_names = {r[0]: r[1] for r in REGIONS}

    # vendors and their users
    contacts = {k: list(v) for k, v in CONTACTS.items()}
    users = []
    codes = set()
    n = 0
    for v in VENDORS:
        c = COUNTY[v["county"]]
        v["region"] = c[1]
        if v["name"] == "澜沧景迈山古茶专业合作社":
            v["email"] = DEMO_VENDOR_EMAIL
            v["credit"] = 95
        else:
            n += 1
            v["email"] = "v%02d@vendors.demo.bangfu.cn" % n
            pool = contacts[c[1]]
            users.append((v["email"], pool.pop(0) + "（" + v["name"] + "）",
                          "vendor"))
        while True:
            cc = credit_code(v["kind"], c[5])
            if cc not in codes:
                codes.add(cc)
                v["code"] = cc
                break
        if v["credit"] is None:
            v["credit"] = 100 if v["status"] != "approved" else \
                rng.choice([72, 78, 80, 84, 86, 88, 90, 90, 92, 94, 96, 98,
                            100])
        if v["status"] == "pending_review":
            v["created_at"] = rand_dt(datetime.date(2026, 11, 1),
                                      datetime.date(2026, 11, 26))
            v["reviewed_at"] = None
        elif "created" in v:
            y, m = v["created"]
            v["created_at"] = rand_dt(datetime.date(y, m, 1),
                                      datetime.date(y, m, 20))
            v["reviewed_at"] = v["created_at"] + datetime.timedelta(
                days=rng.randint(3, 9), hours=rng.randint(1, 5))
        else:
            v["created_at"] = rand_dt(datetime.date(2024, 9, 1),
                                      datetime.date(2025, 8, 31))
            v["reviewed_at"] = v["created_at"] + datetime.timedelta(
                days=rng.randint(2, 20), hours=rng.randint(1, 5))

    # products
    products = []
    img = 0
    titles = set()
    for v in VENDORS:
        c = COUNTY[v["county"]]
        origin = "产地：%s%s%s。" % (region_names[c[1]].replace("贵州", "贵州省")
                                    if c[1] == "zunyi" else
                                    {"yunnan": "云南省", "kashgar": "新疆",
                                     "shigatse": "西藏", "golog": "青海省"}
                                    [c[1]], c[2], c[3])
        if c[1] == "zunyi":
            origin = "产地：贵州省%s%s。" % (c[2], c[3])
        earliest = max(v["reviewed_at"] or v["created_at"],
                       datetime.datetime(2025, 1, 1)).date()
        for line in v["products"]:
            for var in line["variants"].split(";"):
                spec, unit, price = [x.strip() for x in var.split("|")]
                title = line["base"] + (" " + spec if spec else "")
                assert title not in titles, title
                titles.add(title)
                img += 1
                if line["kind"] == "service":
                    desc = "%s %s由%s组织接待。" % (
                        line["desc"], origin.replace("产地", "目的地"),
                        v["name"])
                else:
                    desc = "%s %s规格：%s。由%s供货，联农带贫，扶贫产品可溯源。" % (
                        line["desc"], origin, spec or "标准装", v["name"])
                created = rand_dt(earliest, datetime.date(2026, 11, 20))
                if line["stock"] is not None:
                    stock = line["stock"]
                elif line["kind"] == "service":
                    stock = rng.randint(30, 200)
                elif rng.random() < 0.04:
                    stock = 0
                else:
                    stock = rng.choice([rng.randint(40, 300),
                                        rng.randint(200, 2000)])
                age = (NOW - created.date()).days / 700.0
                sales = int(rng.randint(0, 5000) * min(1.0, age + 0.05))
                if int(price) > 100000:
                    sales = min(sales, rng.randint(0, 120))
                products.append(dict(
                    vendor=v, cat=line["cat"], kind=line["kind"],
                    title=title, desc=desc, unit=unit, price=int(price),
                    stock=stock, sales=sales,
                    status="listed" if v["status"] == "approved" else "draft",
                    images=json.dumps(["/img/p/%d.jpg" % img]),
                    created=created, gi=line["gi"],
                    farm=line["farm"] or v["farm"], line=line,
                    updated=min(created + datetime.timedelta(
                        days=rng.randint(0, 60), hours=rng.randint(0, 8)),
                        datetime.datetime(2026, 11, 27, 20, 0, 0))))

    # A few products of approved vendors are drafts or taken off the shelf;
    # never the demo vendor's, nor a vendor's first.
    firsts = set()
    for v in VENDORS:
        for p in products:
            if p["vendor"] is v:
                firsts.add(p["title"])
                break
    pool = [p for p in products if p["status"] == "listed"
            and p["vendor"]["email"] != DEMO_VENDOR_EMAIL
            and p["title"] not in firsts]
    picked = rng.sample(pool, 9)
    for p in picked[:4]:
        p["status"] = "draft"
        p["sales"] = 0
    for p in picked[4:]:
        p["status"] = "unlisted"

    listed = [p for p in products if p["status"] == "listed"]

    # 百县百品: one listed goods product per designated poverty county,
    # from a qualified vendor in that county.  澜沧 is left free.
    bxbp = []
    for county in ["yuanyang", "dayao", "fugong", "zhengan", "daozhen",
                   "wuchuan", "yecheng", "bachu", "shache", "yadong",
                   "jiangzi", "maqin"]:
        assert COUNTY[county][4]
        cands = [p for p in listed if p["vendor"]["county"] == county
                 and p["kind"] == "goods"
                 and p["vendor"]["until"] == "2027-12-31"
                 and p["vendor"]["credit"] >= 60]
        cands.sort(key=lambda p: (not p["gi"], -p["sales"]))
        p = cands[0]
        p["bxbp"] = True
        bxbp.append((p, county, rand_dt(datetime.date(2025, 3, 1),
                                        datetime.date(2026, 6, 30))))

    # ------------------------------------------------------------ SQL
    w("-- bangfu demo data, printed by scripts/demo_data.py; do not edit.")
    w("SET client_encoding = 'UTF8';")
    w("BEGIN;")
    w("")
    w("INSERT INTO regions (code, name, kind, intro, sort) VALUES")
    w(values([(r[0], r[1], r[2], r[3], i + 1)
              for i, r in enumerate(REGIONS)]) + ";")
    w("")
    w("INSERT INTO counties (region_id, code, name, is_poverty_county)")
    w("SELECT r.id, x.code, x.name, x.poor FROM (VALUES")
    w(values([(c[1], c[0], c[3], c[4]) for c in COUNTIES]))
    w(") AS x(region, code, name, poor) JOIN regions r ON r.code = x.region;")
    w("")
    w("INSERT INTO categories (code, name, sort) VALUES")
    w(values([(c[0], c[1], i + 1) for i, c in enumerate(CATEGORIES)]) + ";")
    w("")
    w("INSERT INTO users (email, password_hash, name, role) VALUES")
    w(values([(e, "!", nm, role) for e, nm, role in DEMO_USERS + users])
      + ";")
    w("")
    w("INSERT INTO vendors (user_id, name, kind, county_id, credit_code,")
    w("    poor_households_linked, description, status, qualified_until,")
    w("    credit_score, reviewed_by, reviewed_at, review_reason, created_at)")
    w("SELECT u.id, x.name, x.kind, c.id, x.code, x.households, x.descr,")
    w("    x.status, x.until::date, x.credit,")
    w("    CASE WHEN x.reviewed_at IS NOT NULL THEN a.id END,")
    w("    x.reviewed_at::timestamptz, x.reason, x.created_at::timestamptz")
    w("FROM (VALUES")
    w(values([(v["email"], v["name"], v["kind"], v["county"], v["code"],
               v["households"], v["desc"], v["status"], v["until"],
               v["credit"],
               ts(v["reviewed_at"]) if v["reviewed_at"] else None,
               v["reason"], ts(v["created_at"])) for v in VENDORS]))
    w(") AS x(email, name, kind, county, code, households, descr, status,")
    w("       until, credit, reviewed_at, reason, created_at)")
    w("JOIN users u ON lower(u.email) = lower(x.email)")
    w("JOIN counties c ON c.code = x.county")
    w("JOIN users a ON lower(a.email) = %s;" % q(ADMIN))
    w("")
    w("INSERT INTO products (vendor_id, category_id, kind, title, description,")
    w("    unit, price_fen, stock, status, images, sales, created_at,")
    w("    updated_at)")
    w("SELECT v.id, c.id, x.kind, x.title, x.descr, x.unit, x.price, x.stock,")
    w("    x.status, x.images::jsonb, x.sales, x.created_at::timestamptz,")
    w("    x.updated_at::timestamptz")
    w("FROM (VALUES")
    w(values([(p["vendor"]["code"], p["cat"], p["kind"], p["title"],
               p["desc"], p["unit"], p["price"], p["stock"], p["status"],
               p["images"], p["sales"], ts(p["created"]), ts(p["updated"]))
              for p in products]))
    w(") AS x(vendor, cat, kind, title, descr, unit, price, stock, status,")
    w("       images, sales, created_at, updated_at)")
    w("JOIN vendors v ON v.credit_code = x.vendor")
    w("JOIN categories c ON c.code = x.cat;")
    w("")

    def by_product(cols, rows, table, tail=""):
        w("INSERT INTO %s (product_id, %s)" % (table, ", ".join(
            c.split("::")[0] for c in cols)))
        w("SELECT p.id, %s" % ", ".join("x." + c for c in cols))
        w("FROM (VALUES")
        w(values(rows))
        w(") AS x(vendor, title, %s)" % ", ".join(
            c.split("::")[0] for c in cols))
        w("JOIN vendors v ON v.credit_code = x.vendor")
        w("JOIN products p ON p.vendor_id = v.id AND p.title = x.title%s;"
          % tail)
        w("")

    # price tiers: about a third of the goods
    tiers = []
    for p in products:
        if p["kind"] != "goods" or rng.random() >= 0.36:
            continue
        mins = rng.choice([(10, 50, 200), (10, 50), (5, 20, 100), (20, 100),
                           (2, 10, 50), (10, 30)])
        disc = [0.96, 0.92, 0.88] if len(mins) == 3 else [0.95, 0.90]
        last = p["price"]
        for m, d in zip(mins, disc):
            u = max(10, int(round(p["price"] * d / 10.0)) * 10)
            if u >= last:
                u = last - 10
            assert 0 < u < last
            tiers.append((p["vendor"]["code"], p["title"], m, u))
            last = u
    by_product(["min_qty", "unit_price_fen"], tiers, "price_tiers")

    # certifications: about a quarter of the products
    certs = []
    gi_numbers = {}
    seq = rng.randint(10000, 20000)
    green_cat = {"tea": "18", "nuts": "13", "fruit": "11", "grain": "01",
                 "meat": "07", "herbs": "15", "specialty": "16"}
    goods = [p for p in products if p["kind"] == "goods"
             and p["cat"] in green_cat]
    for p in goods:
        kinds = []
        if p["gi"] and rng.random() < 0.55:
            kinds.append("gi")
        r = rng.random()
        if r < 0.09:
            kinds.append("green")
        elif r < 0.14:
            kinds.append("organic")
        prov = COUNTY[p["vendor"]["county"]][5][:2]
        for k in kinds:
            if rng.random() < 0.14:
                until = datetime.date(2025, rng.randint(1, 12),
                                      rng.randint(1, 28))
            else:
                until = datetime.date(rng.choice([2027, 2027, 2028]),
                                      rng.randint(1, 12), rng.randint(1, 28))
            seq += rng.randint(3, 400)
            if k == "gi":
                key = id(p["line"])
                if key not in gi_numbers:
                    gi_numbers[key] = "AGI%05d" % rng.randint(800, 3900)
                number = gi_numbers[key]
            elif k == "green":
                issued = until.year - 3
                number = "LB-%s-%02d%02d%s%05dA" % (
                    green_cat[p["cat"]], issued % 100, rng.randint(1, 12),
                    prov, seq % 100000)
            else:
                number = "%03dOP%02d%05d" % (rng.choice([124, 227, 158, 1]),
                                             (until.year - 1) % 100,
                                             seq % 100000)
            certs.append((p["vendor"]["code"], p["title"], k, number,
                          until.isoformat()))
    by_product(["kind", "number", "valid_until::date"],
               [c for c in certs], "certifications")

    # batches: most goods, 1 to 3 each; trace codes come from the default
    batches = []
    report = rng.randint(100, 900)
    batch_goods = [p for p in products if p["kind"] == "goods"
                   and (p["status"] != "draft")
                   and (p.get("bxbp") or p["title"] == STOCK20
                        or rng.random() < 0.72)]
    for p in batch_goods:
        prov = PROV[p["vendor"]["region"]]
        n_batches = rng.choice([1, 1, 2, 2, 3])
        days = sorted(rng.sample(range(5, 325), n_batches))
        for i, d in enumerate(days):
            produced = datetime.date(2026, 1, 1) + datetime.timedelta(days=d)
            code = "B%s-%02d" % (produced.strftime("%Y%m%d"), i + 1)
            recent = (NOW - produced).days < 12
            if recent or rng.random() < 0.07:
                result, rep, on = "pending", None, None
            else:
                result = "pass"
                inspected = produced + datetime.timedelta(
                    days=rng.randint(2, 9))
                report += rng.randint(1, 40)
                rep = "%s-JC-%s-%04d" % (prov, inspected.strftime("%Y%m%d"),
                                         report % 10000)
                on = inspected.isoformat()
            batches.append((p["vendor"]["code"], p["title"], code,
                            produced.isoformat(), p["farm"], result, rep, on))
    by_product(["code", "produced_on::date", "base", "inspection_result",
                "inspection_report_no", "inspected_on::date"],
               batches, "batches")

    # 百县百品
    w("INSERT INTO bxbp_designations (product_id, county_id, designated_by,")
    w("    designated_at)")
    w("SELECT p.id, c.id, a.id, x.at::timestamptz FROM (VALUES")
    w(values([(p["vendor"]["code"], p["title"], county, ts(at))
              for p, county, at in bxbp]))
    w(") AS x(vendor, title, county, at)")
    w("JOIN vendors v ON v.credit_code = x.vendor")
    w("JOIN products p ON p.vendor_id = v.id AND p.title = x.title")
    w("JOIN counties c ON c.code = x.county")
    w("JOIN users a ON lower(a.email) = %s;" % q(ADMIN))
    w("")

    # campaigns
    def pick(pred, k, must=()):
        chosen = [p for p in listed if p["title"] in must]
        rest = [p for p in listed if pred(p) and p not in chosen]
        return chosen + rng.sample(rest, min(k - len(chosen), len(rest)))

    gifts = lambda p: "礼盒" in p["title"] or p["unit"] == "盒"
    campaigns = [
        ("poverty-day-2026", "国家扶贫日 消费扶贫月",
         "10月17日国家扶贫日，买一份山货，帮一户农家。",
         "2026-10-10", "2026-10-24", {}, 40,
         [p for p, _, _ in bxbp] + pick(
             lambda p: p["kind"] == "goods" and not p.get("bxbp"), 6)),
        ("harvest-2026", "中国农民丰收节",
         "秋分庆丰收，新米新茶新果子，直采自对口地区田间。",
         "2026-09-16", "2026-09-30", {"category": "grain"}, 30,
         pick(lambda p: p["cat"] in ("grain", "fruit", "nuts"), 16)),
        ("mid-autumn-2026", "中秋 团圆礼",
         "月圆人团圆，一盒山里的心意寄给家人。",
         "2026-09-10", "2026-09-27", {"category": "specialty"}, 25,
         pick(lambda p: gifts(p) and p["kind"] == "goods", 14)),
        ("national-day-2026", "国庆 到对口地区去旅行",
         "国庆长假，去茶山、梯田、雪山和草原，住农家、吃山货。",
         "2026-09-28", "2026-10-08", {"category": "tourism"}, 35,
         pick(lambda p: p["kind"] == "service", 12)),
        ("spring-festival-2026", "春节 年货节",
         "腊肉香肠牦牛肉，坚果红枣过大年。",
         "2026-01-20", "2026-02-24", {"category": "meat"}, 30,
         pick(lambda p: p["cat"] in ("meat", "nuts")
              and p["created"] < datetime.datetime(2026, 1, 20), 18)),
        ("new-year-2027", "元旦 新年礼",
         "新年第一份礼物，茶与坚果，健康又有意义。",
         "2026-12-15", "2027-01-03", {}, 20,
         pick(lambda p: p["cat"] in ("tea", "nuts") and gifts(p), 12)),
        ("spring-festival-2027", "春节 年货节",
         "2027年春节，把对口地区的年味端上上海的年夜饭桌。",
         "2027-01-10", "2027-02-14", {"category": "meat"}, 30,
         pick(lambda p: p["cat"] in ("meat", "nuts", "specialty")
              and p["kind"] == "goods", 18)),
        ("yunpin-community", "云品进社区、万家帮万户",
         "云南好物走进上海社区，万家帮万户，一起买云品。",
         "2026-11-01", "2027-01-31", {"region": "yunnan"}, 45,
         pick(lambda p: p["vendor"]["region"] == "yunnan"
              and p["kind"] == "goods", 20, must=(STOCK20,))),
    ]
    w("INSERT INTO campaigns (slug, title, theme, starts_at, ends_at, match,")
    w("    boost_weight) VALUES")
    w(values([(s, t, th, a + " 00:00:00+08:00", b + " 23:59:59+08:00",
               json.dumps(m, ensure_ascii=False), bw)
              for s, t, th, a, b, m, bw, _ in campaigns])
      .replace("+08:00', '{", "+08:00', '{") + ";")
    w("")
    cps = []
    for s, _, _, _, _, _, _, ps in campaigns:
        assert 8 <= len(ps) <= 20, (s, len(ps))
        assert len(set(p["title"] for p in ps)) == len(ps)
        for p in ps:
            cps.append((s, p["vendor"]["code"], p["title"]))
    w("INSERT INTO campaign_products (campaign_id, product_id)")
    w("SELECT k.id, p.id FROM (VALUES")
    w(values(cps))
    w(") AS x(slug, vendor, title)")
    w("JOIN campaigns k ON k.slug = x.slug")
    w("JOIN vendors v ON v.credit_code = x.vendor")
    w("JOIN products p ON p.vendor_id = v.id AND p.title = x.title;")
    w("")

    # Every lookup above must have found its row.
    expect = [
        ("regions", len(REGIONS)), ("counties", len(COUNTIES)),
        ("categories", len(CATEGORIES)),
        ("users", len(DEMO_USERS) + len(users)),
        ("vendors", len(VENDORS)), ("products", len(products)),
        ("price_tiers", len(tiers)), ("certifications", len(certs)),
        ("batches", len(batches)), ("bxbp_designations", len(bxbp)),
        ("campaigns", len(campaigns)), ("campaign_products", len(cps)),
    ]
    w("DO $$")
    w("DECLARE n bigint;")
    w("BEGIN")
    for t, k in expect:
        w("    SELECT count(*) INTO n FROM %s;" % t)
        w("    IF n <> %d THEN RAISE EXCEPTION 'demo data: %s has %%, want %d', n; END IF;"
          % (k, t, k))
    w("END $$;")
    w("")
    w("COMMIT;")

    stats = dict(expect)
    stats["listed"] = len(listed)
    stats["draft"] = sum(p["status"] == "draft" for p in products)
    stats["unlisted"] = sum(p["status"] == "unlisted" for p in products)
    stats["services"] = sum(p["kind"] == "service" for p in products)
    stats["batch_goods"] = len(batch_goods)
    return out, stats


def main():
    out, stats = build()
    sys.stdout.write("\n".join(out) + "\n")
    if "-v" in sys.argv[1:]:
        for k, v in stats.items():
            sys.stderr.write("%s %s\n" % (k, v))


if __name__ == "__main__":
    main()
