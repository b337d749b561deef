"""Fixed prompt sets used by the quality benchmark and the heavy tests (one list, one place)."""

from __future__ import annotations

__all__ = ["INSTRUMENTAL_PROMPTS", "LYRIC_SHEETS_EN", "LYRIC_SHEETS_ZH"]

INSTRUMENTAL_PROMPTS: tuple[str, ...] = (
    "upbeat pop song with piano and synth",
    "dark heavy metal with distorted guitars, fast",
    "acoustic folk with guitar and harmonica",
    "country song with banjo and fiddle",
    "euphoric EDM festival anthem, 128 bpm",
    "boom bap hip-hop beat with vinyl piano",
    "smooth R&B soul groove with electric piano",
    "swinging jazz trio with upright bass and piano",
    "chill lo-fi beat for studying, rainy mood",
    "emotional piano ballad with strings, slow",
    "epic cinematic orchestral trailer music with brass",
    "roots reggae one drop with organ",
    "latin salsa with trumpets and congas",
    "fast punk rock, energetic",
    "happy summer pop in D major",
    "sad waltz with accordion",
    "melancholic cello and piano in A minor, 70 bpm",
    "driving rock anthem with electric guitar and organ",
    "dreamy synthwave with pads",
    "bossa nova with nylon guitar and flute",
    "gentle classical piece for strings and harp",
    "funky soul with brass section and bass guitar",
    "calm ambient electronic with marimba",
    "energetic latin pop with trumpet, 100 bpm",
)


LYRIC_SHEETS_EN: tuple[tuple[str, str], ...] = (
    ("pop", """[Verse]
Morning coffee on the windowsill
Radio is playing something still
[Chorus]
We can dance around the kitchen floor
Open every window, open every door
[Verse 2]
Yellow taxis waiting in the rain
Every minute feels like summer again
[Verse 3]
Painted letters on a paper plane
Flying over bridges down the lane
"""),
    ("folk", """[Verse]
My grandfather built a wooden boat
Painted it the color of his coat
[Chorus]
Row across the water, row across the bay
Carry all the stories we could never say
[Verse 2]
Now the harbor lights are burning low
Tell me where the quiet rivers go
[Verse 3]
Seagulls circle over fishing nets
Old men talking of their old regrets
"""),
    ("rock", """[Verse]
Engines roaring on the midnight road
Headlights cutting through a heavy load
[Chorus]
Turn it up and let the thunder ring
Every broken heart has learned to sing
[Bridge]
Nobody can stop us now
We will find a way somehow
[Verse 3]
Static crackles on the radio
Burning rubber on the lonely road
"""),
    ("country", """[Verse]
Dusty boots beside the kitchen door
Mama sweeping up the cabin floor
[Chorus]
Take me home to where the cotton grows
Down a gravel road that no one knows
[Verse 2]
Daddy fixing fences in the heat
Sunday dinner never tasted so sweet
[Verse 3]
Fireflies are dancing in the yard
Grandpa humming while he shuffles cards
"""),
    ("ballad", """[Verse]
Candles flicker in an empty room
Silver moonlight falling on the gloom
[Chorus]
I will wait for you across the sea
Promise me you will remember me
[Verse 2]
Letters folded in a velvet box
Time is counted by the ticking clocks
[Verse 3]
Roses wither on the garden wall
Still I listen for your gentle call
"""),
    ("rnb", """[Verse]
Velvet voices on a Friday night
City sparkles in electric light
[Chorus]
Baby hold me closer, let the music play
Every single heartbeat takes my breath away
[Verse 2]
Neon signs reflecting on the street
Moving slowly to a gentle beat
[Verse 3]
Diamonds glitter on your silver dress
Nothing matters more than your caress
"""),
    ("electronic", """[Verse]
Lasers painting colors on the wall
Thousands moving, answering the call
[Chorus]
Feel the bass line rising in your chest
Tonight we never need to rest
[Verse 2]
Satellites are blinking in the sky
Hands together reaching up so high
[Verse 3]
Machines are humming in the purple haze
We are running through a crystal maze
"""),
    ("jazz", """[Verse]
Smoky corners in a little bar
Somebody is playing a guitar
[Chorus]
Blue notes falling softly like the snow
Whisper me the secrets only lovers know
[Verse 2]
Trumpet crying underneath the stairs
Nobody is counting all the chairs
[Verse 3]
Waiters carry glasses made of gold
Every melody is worth the cold
"""),
    ("reggae", """[Verse]
Sunshine melting on the island sand
Children playing music with a band
[Chorus]
Every little thing is gonna shine
Share your mango and I share mine
[Verse 2]
Fishermen are singing by the shore
Nobody is hungry anymore
[Verse 3]
Coconuts are falling from the trees
Sailing boats are dancing on the breeze
"""),
    ("latin", """[Verse]
Lanterns glowing in the village square
Music floating in the summer air
[Chorus]
Spin me faster underneath the stars
Drums are beating louder than the cars
[Verse 2]
Grandma laughing with a flower crown
Everybody dancing through the town
[Verse 3]
Guitars echo off the painted walls
Children answer when the trumpet calls
"""),
)
"""Ten English lyric sheets (genre, sheet), about 50 words each, varied vocabulary on purpose:
Whisper's language prior fills in predictable lyrics, so no sheet repeats another's lines."""

LYRIC_SHEETS_ZH: tuple[tuple[str, str], ...] = (
    ("pop", """[Verse]
清晨的阳光照进我的窗
小鸟在树上轻轻地歌唱
[Chorus]
我们一起走过春天的花园
把所有的梦想写在蓝天
"""),
    ("ballad", """[Verse]
月亮挂在安静的山岗
风吹过我思念的故乡
[Chorus]
请你记得那年夏天的约定
我会一直等你到天明
"""),
    ("folk", """[Verse]
小河弯弯流过我的家门
妈妈做饭等着远方的人
[Chorus]
回家的路上开满了野花
我唱着歌儿走向那片晚霞
"""),
    ("rock", """[Verse]
城市的灯火照亮了长街
我们在风里大声地告别
[Chorus]
不要害怕前面的黑夜
明天的太阳依然热烈
"""),
    ("country", """[Verse]
爷爷赶着马车走过田野
麦子黄了等待秋天收获
[Chorus]
远方的朋友请你来做客
喝一杯酒听我唱首老歌
"""),
    ("jazz", """[Verse]
咖啡的香味飘在雨中
老唱片转着慢慢的梦
[Chorus]
你的眼睛像夜晚的星空
让我想起那年冬天的风
"""),
    ("edm", """[Verse]
跟着音乐一起跳起来
把烦恼统统都抛开
[Chorus]
今夜我们不说再见
让快乐永远在身边
"""),
    ("lofi", """[Verse]
窗外的雨一直下个不停
书桌上还有你写的信
[Chorus]
时间慢慢走过我的心
留下一段温柔的回忆
"""),
    ("reggae", """[Verse]
海边的椰子树轻轻摇摆
阳光洒在蓝色的大海
[Chorus]
放下手机出来晒晒太阳
生活其实可以很简单
"""),
    ("soul", """[Verse]
深夜的电话没有人接
我一个人走在十字路口
[Chorus]
如果你还记得我的名字
请在春天回来找我
"""),
    ("punk", """[Verse]
我们不想听大人的话
背上吉他离开了老家
[Chorus]
年轻就要勇敢地出发
哪怕跌倒也不会害怕
"""),
)
"""Eleven Chinese lyric sheets (genre, sheet), 450+ characters in all."""
