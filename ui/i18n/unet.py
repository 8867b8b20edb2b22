"""Strings of the UNet block inspector (pages/unet_inspector.py)."""

EN = {
    "unet.intro": "The real `UNet2DConditionModel` of Stable Diffusion 1.5, built from its configuration on "
    "PyTorch's *meta* device: every one of its {params} parameters has a shape but no memory, so "
    "one forward pass shows every block's shapes in about a second, on any laptop, with no download.",
    "unet.size": "Image size (width × height)",
    "unet.size.help": "The VAE turns every 8×8 pixels into one latent position: the UNet works on size ÷ 8.",
    "unet.batch": "Images per prompt (batch size)",
    "unet.cfg": "Classifier-free guidance (CFG)",
    "unet.cfg.help": "With guidance the UNet runs the prompt and the empty prompt side by side: twice the batch.",
    "unet.source": "Which UNet",
    "unet.source.sd15": "SD-1.5 (architecture only, no weights)",
    "unet.source.loaded": "The loaded pipeline's UNet",
    "unet.m.params": "Parameters (whole UNet)",
    "unet.m.latent": "Latent (h × w)",
    "unet.m.batch": "Batch the UNet sees",
    "unet.m.tokens": "Text tokens × width",
    "unet.diagram": "The U: blocks by resolution, width by channels",
    "unet.diagram.caption": "Each box: the block's name, the latent size it works at and its channels. "
    "Going down, the latent shrinks (64 → 32 → 16 → 8 at 512 px) while channels grow; "
    "coming up, it grows back. Grey arcs are the skip connections: tensors saved on the "
    "way down and concatenated on the way up (thicker = more tensors). Click a block, or "
    "pick it below.",
    "unet.block": "Block",
    "unet.details": "Inside {name} · {cls}",
    "unet.d.params": "Parameters in this block",
    "unet.d.in": "Input",
    "unet.d.out": "Output",
    "unet.d.share": "Share of the UNet",
    "unet.parts": "Its parts, in the order the forward pass calls them",
    "unet.col.part": "Part",
    "unet.col.class": "Class",
    "unet.col.out": "Output shape",
    "unet.col.params": "Parameters",
    "unet.col.heads": "Heads × head size",
    "unet.col.block": "Block",
    "unet.col.in": "Input shape",
    "unet.col.level": "Resolution level",
    "unet.col.skips": "Skips out / in",
    "unet.col.index": "#",
    "unet.col.source": "Saved by (way down)",
    "unet.col.target": "Used by (way up)",
    "unet.col.shape": "Shape",
    "unet.col.where": "Transformer",
    "unet.col.query": "Queries (h·w image tokens)",
    "unet.col.keys": "Keys (text tokens)",
    "unet.col.dims": "Image dim → text dim",
    "unet.col.scores": "Attention matrix (batch, heads, queries, keys)",
    "unet.col.type": "Part type",
    "unet.col.stat": "Statistic",
    "unet.col.name": "Block",
    "unet.col.mean": "Mean",
    "unet.col.std": "Std",
    "unet.col.min": "Min",
    "unet.col.max": "Max",
    "unet.skips.in": "Skip connections this block receives",
    "unet.skips.out": "Skip connections this block sends",
    "unet.cross": "Cross-attention to the prompt in this block",
    "unet.source_of": "diffusers source of {cls}",
    "unet.what": "What this block does",
    "unet.explain.in": "**conv_in** is one 3×3 convolution: it lifts the 4 latent channels to 320 feature "
    "channels. Its output is also the first tensor saved for a skip connection.",
    "unet.explain.time": "**Time embedding.** The timestep t (how noisy the latent is) becomes a sinusoidal "
    "vector (Timesteps, 320 numbers, no parameters), then two linear layers "
    "(TimestepEmbedding) give 1280 numbers. Every ResNet block adds it to its features, "
    "so every block knows how much noise to expect.",
    "unet.explain.CrossAttnDownBlock2D": "**CrossAttnDownBlock2D**: twice (ResNet block → Transformer block), "
    "then a stride-2 convolution halves the resolution (Downsample2D). Each "
    "Transformer lets the image look at the prompt. All three outputs are "
    "saved for skip connections.",
    "unet.explain.DownBlock2D": "**DownBlock2D**: two ResNet blocks and no attention, at the lowest resolution "
    "(8×8 at 512 px). No downsampling: this is the bottom of the U.",
    "unet.explain.UNetMidBlock2DCrossAttn": "**UNetMidBlock2DCrossAttn**, the homework's bonus question: ResNet "
    "→ Transformer (self-attention, cross-attention to the 77 text "
    "tokens, feed-forward) → ResNet, at the coarsest resolution, where "
    "each position sees the whole image.",
    "unet.explain.UpBlock2D": "**UpBlock2D**: three ResNet blocks, each first concatenating one saved skip "
    "tensor to its input (that is why its input has more channels), then Upsample2D "
    "doubles the resolution (nearest neighbour + 3×3 convolution).",
    "unet.explain.CrossAttnUpBlock2D": "**CrossAttnUpBlock2D**: three times (concatenate a skip → ResNet block "
    "→ Transformer block), then upsample (except the last). The skips bring "
    "back the fine detail the way down threw away.",
    "unet.explain.out": "**conv_out**: GroupNorm → SiLU → 3×3 convolution from 320 channels back to 4: the "
    "predicted noise, the same shape as the latent.",
    "unet.parts.explain": "**ResnetBlock2D**: GroupNorm → SiLU → 3×3 conv → + time embedding → GroupNorm → "
    "SiLU → dropout → 3×3 conv, plus the input (a 1×1 conv when channels change).  \n"
    "**Transformer2DModel**: GroupNorm → 1×1 conv → BasicTransformerBlock "
    "(self-attention → cross-attention → feed-forward, each with LayerNorm and a residual) "
    "→ 1×1 conv, plus the input.",
    "unet.mid.title": "The homework's question: what does the mid block do?",
    "unet.mid.body": "The homework found conv1, conv2, norm1, norm2 and an attention layer in "
    "`UNetMidBlock2DCrossAttn`. Looking closer, the convolutions and norms live inside its "
    "two **ResnetBlock2D** (a residual block), and between them sits a **Transformer2DModel**:\n\n"
    "1. **ResNet**: convolutions mix each position with its neighbours and add the time "
    "embedding.\n"
    "2. **Self-attention** (attn1): each of the {q} latent positions looks at all the others "
    "(a {q}×{q} matrix per head): global layout.\n"
    "3. **Cross-attention** (attn2): each position asks a question (query, {dim} numbers) and "
    "the 77 text tokens answer (keys and values from CLIP's 768-number embeddings): a "
    "{q}×77 matrix per head.\n"
    "4. **Feed-forward** (GEGLU): thinks about what it just read, position by position.\n"
    "5. **ResNet** again.\n\n"
    "**Why cross-attention is how the prompt steers the image.** The prompt enters the UNet "
    "nowhere else: not in the convolutions, not in the time embedding. Its only door is the "
    "keys and values of the 16 cross-attention layers (down, mid and up). Change one word and "
    "the values that flow into the image features change; the attention weights decide where "
    "in the image each word's influence lands.",
    "unet.tab.table": "All blocks",
    "unet.tab.types": "Parameters by type",
    "unet.tab.skips": "Skip connections",
    "unet.tab.live": "With weights: activations and attention",
    "unet.types.caption": "ResNet blocks hold most of the weights; the Transformers (attention) most of the rest.",
    "unet.live.intro": "With a loaded pipeline, run the real UNet once on pure noise with your prompt: the "
    "statistics of each block's output, and where each prompt token is looked at.",
    "unet.live.model": "Pipeline (Hub id, diffusers folder or .safetensors file)",
    "unet.live.load": "Load the pipeline",
    "unet.live.running": "Running the UNet: {done} of 2 passes (block statistics, then cross-attention maps)",
    "unet.live.loaded": "Loaded: {model} on {device}, UNet with {params} parameters.",
    "unet.weights.missing": "No weights for `{model}` on this computer, and huggingface.co cannot be reached: "
    "“Load the pipeline” is off. The architecture above needs no weights, and neither does the UNet you train here:",
    "unet.weights.download": "No weights for `{model}` on this computer yet: “Load the pipeline” downloads them first "
    "(about 4 GB, minutes).",
    "unet.live.none": "No pipeline loaded: the architecture above needs none. Load one to see real activations "
    "and cross-attention maps (on a CPU only small models run quickly; the real SD-1.5 wants "
    "a GPU).",
    "unet.live.prompt": "Prompt",
    "unet.live.timestep": "Timestep t (999 = pure noise)",
    "unet.live.run": "Run the UNet once",
    "unet.live.side": "Analysis image side (pixels)",
    "unet.live.stats": "Each block's output (one forward pass)",
    "unet.live.maps": "Cross-attention per prompt token (averaged over all layers and heads)",
    "unet.live.maps.caption": "Bright = the image positions that read this token most. Each position's weights "
    "over the 77 tokens sum to 1; <|startoftext|> usually soaks up most of it.",
    "unet.live.slow": "This is the full SD-1.5 UNet on a CPU: one pass takes tens of seconds. A GPU makes it "
    "instant.",
    "unet.table.caption": "Shapes for {w}×{h} px images: latent {lh}×{lw}, batch {b}.",
    "unet.mnist.title": 'The other UNet: the small one trained on MNIST in "Diffusion you can train"',
    "unet.mnist.body": "The same kind of network, {params:,} parameters instead of 859.5 M: no text encoder, so no cross-attention; a class label (0–9, or none for guidance) joins the time embedding instead of a prompt.",
}

ZH = {
    "unet.intro": "Stable Diffusion 1.5 真实的 `UNet2DConditionModel`，按它的配置在 PyTorch 的 *meta* "
    "设备上构建：全部 {params} 个参数都有形状却不占内存，所以一次前向传播大约一秒就能得到"
    "每个模块的形状，任何笔记本都能运行，无需下载。",
    "unet.size": "图像尺寸（宽 × 高）",
    "unet.size.help": "VAE 把每 8×8 个像素变成一个潜变量位置：UNet 处理的是尺寸 ÷ 8。",
    "unet.batch": "每个提示词生成的图像数（批大小）",
    "unet.cfg": "无分类器引导（CFG）",
    "unet.cfg.help": "使用引导时，UNet 同时处理提示词和空提示词：批大小翻倍。",
    "unet.source": "查看哪个 UNet",
    "unet.source.sd15": "SD-1.5（仅结构，无权重）",
    "unet.source.loaded": "已加载管线的 UNet",
    "unet.m.params": "参数量（整个 UNet）",
    "unet.m.latent": "潜变量（高 × 宽）",
    "unet.m.batch": "UNet 实际的批大小",
    "unet.m.tokens": "文本词元数 × 维度",
    "unet.diagram": "U 形结构：按分辨率排列，宽度表示通道数",
    "unet.diagram.caption": "每个方框：模块名、它处理的潜变量尺寸和通道数。"
    "向下走，潜变量变小（512 像素时 64 → 32 → 16 → 8），通道数变多；向上走，分辨率"
    "恢复。灰色弧线是跳跃连接：下采样路径上保存的张量，在上采样路径上拼接回来（越粗表示"
    "张量越多）。点击一个模块，或在下方选择。",
    "unet.block": "模块",
    "unet.details": "{name} 内部 · {cls}",
    "unet.d.params": "本模块参数量",
    "unet.d.in": "输入",
    "unet.d.out": "输出",
    "unet.d.share": "占整个 UNet 的比例",
    "unet.parts": "它的组成部分（按前向传播调用的顺序）",
    "unet.col.part": "部分",
    "unet.col.class": "类",
    "unet.col.out": "输出形状",
    "unet.col.params": "参数量",
    "unet.col.heads": "头数 × 每头维度",
    "unet.col.block": "模块",
    "unet.col.in": "输入形状",
    "unet.col.level": "分辨率层级",
    "unet.col.skips": "跳跃连接 发出 / 接收",
    "unet.col.index": "#",
    "unet.col.source": "保存者（下采样路径）",
    "unet.col.target": "使用者（上采样路径）",
    "unet.col.shape": "形状",
    "unet.col.where": "Transformer",
    "unet.col.query": "查询（h·w 个图像词元）",
    "unet.col.keys": "键（文本词元）",
    "unet.col.dims": "图像维度 → 文本维度",
    "unet.col.scores": "注意力矩阵（批、头、查询、键）",
    "unet.col.type": "部分类型",
    "unet.col.stat": "统计量",
    "unet.col.name": "模块",
    "unet.col.mean": "均值",
    "unet.col.std": "标准差",
    "unet.col.min": "最小值",
    "unet.col.max": "最大值",
    "unet.skips.in": "本模块接收的跳跃连接",
    "unet.skips.out": "本模块发出的跳跃连接",
    "unet.cross": "本模块中对提示词的交叉注意力",
    "unet.source_of": "{cls} 的 diffusers 源代码",
    "unet.what": "这个模块做什么",
    "unet.explain.in": "**conv_in** 是一个 3×3 卷积：把 4 个潜变量通道提升为 320 个特征通道。它的输出也是"
    "第一个为跳跃连接保存的张量。",
    "unet.explain.time": "**时间嵌入。** 时间步 t（潜变量有多少噪声）先变成正弦编码向量（Timesteps，320 个数，"
    "无参数），再经过两个线性层（TimestepEmbedding）得到 1280 个数。每个残差块都把它加到"
    "特征上，所以每个模块都知道要去除多少噪声。",
    "unet.explain.CrossAttnDownBlock2D": "**CrossAttnDownBlock2D**：两次（残差块 → Transformer 块），然后用"
    "步幅为 2 的卷积把分辨率减半（Downsample2D，下采样）。每个 "
    "Transformer 让图像去“看”提示词。三个输出都为跳跃连接保存。",
    "unet.explain.DownBlock2D": "**DownBlock2D**：两个残差块，没有注意力，位于最低分辨率（512 像素时为 8×8）。"
    "不再下采样：这里是 U 的底部。",
    "unet.explain.UNetMidBlock2DCrossAttn": "**UNetMidBlock2DCrossAttn**，即作业的附加题：残差块 → "
    "Transformer（自注意力、对 77 个文本词元的交叉注意力、前馈网络）"
    "→ 残差块，位于最粗的分辨率，每个位置都能看到整幅图像。",
    "unet.explain.UpBlock2D": "**UpBlock2D**：三个残差块，每个先把一个保存的跳跃连接张量拼接到输入上（所以"
    "输入通道更多），然后 Upsample2D 把分辨率加倍（最近邻插值 + 3×3 卷积，上采样）。",
    "unet.explain.CrossAttnUpBlock2D": "**CrossAttnUpBlock2D**：三次（拼接跳跃连接 → 残差块 → Transformer "
    "块），然后上采样（最后一个除外）。跳跃连接把下采样时丢掉的细节带回来。",
    "unet.explain.out": "**conv_out**：GroupNorm → SiLU → 3×3 卷积，从 320 个通道回到 4 个：预测的噪声，"
    "形状与潜变量相同。",
    "unet.parts.explain": "**ResnetBlock2D（残差块）**：GroupNorm → SiLU → 3×3 卷积 → 加上时间嵌入 → "
    "GroupNorm → SiLU → 丢弃法 → 3×3 卷积，再加上输入（通道数变化时经过 1×1 卷积）。  \n"
    "**Transformer2DModel**：GroupNorm → 1×1 卷积 → BasicTransformerBlock（自注意力 → "
    "交叉注意力 → 前馈网络，每步都有 LayerNorm 和残差连接）→ 1×1 卷积，再加上输入。",
    "unet.mid.title": "作业的问题：中间块做什么？",
    "unet.mid.body": "作业在 `UNetMidBlock2DCrossAttn` 中找到了 conv1、conv2、norm1、norm2 和一个注意力层。"
    "仔细看，这些卷积和归一化层在它的两个 **ResnetBlock2D**（残差块）里面，两者之间是一个 "
    "**Transformer2DModel**：\n\n"
    "1. **残差块**：卷积把每个位置与邻居混合，并加上时间嵌入。\n"
    "2. **自注意力**（attn1）：{q} 个潜变量位置中的每一个都看所有其他位置（每个头一个 "
    "{q}×{q} 的矩阵）：全局布局。\n"
    "3. **交叉注意力**（attn2）：每个位置提出一个问题（查询，{dim} 个数），77 个文本词元来"
    "回答（键和值来自 CLIP 的 768 维嵌入）：每个头一个 {q}×77 的矩阵。\n"
    "4. **前馈网络**（GEGLU）：逐位置地处理刚读到的信息。\n"
    "5. 再一个**残差块**。\n\n"
    "**为什么交叉注意力是提示词引导图像的方式。** 提示词不从其他任何地方进入 UNet：不进入"
    "卷积，也不进入时间嵌入。它唯一的入口是 16 个交叉注意力层（下采样、中间、上采样）的键"
    "和值。改一个词，流入图像特征的值就会改变；注意力权重决定每个词的影响落在图像的哪里。",
    "unet.tab.table": "所有模块",
    "unet.tab.types": "按类型统计参数量",
    "unet.tab.skips": "跳跃连接",
    "unet.tab.live": "带权重：激活与注意力",
    "unet.types.caption": "残差块占了大部分权重；Transformer（注意力）占了其余的大部分。",
    "unet.live.intro": "加载管线后，用你的提示词在纯噪声上运行一次真实的 UNet：查看每个模块输出的统计量，"
    "以及每个提示词词元被图像的哪些位置关注。",
    "unet.live.model": "管线（Hub 模型名、diffusers 文件夹或 .safetensors 文件）",
    "unet.live.load": "加载管线",
    "unet.live.running": "正在运行 UNet：已完成 {done} / 2 次前向传播（先是模块统计量，然后是交叉注意力图）",
    "unet.live.loaded": "已加载：{model}，设备 {device}，UNet 共 {params} 个参数。",
    "unet.weights.missing": "本机没有 `{model}` 的权重，且无法连接 huggingface.co：“加载管线”已停用。"
    "上面的结构无需权重，下面这个可以在本应用里训练的 UNet 也不需要：",
    "unet.weights.download": "本机还没有 `{model}` 的权重：点击“加载管线”会先下载（约 4 GB，需要几分钟）。",
    "unet.live.none": "尚未加载管线：上面的结构不需要权重。加载管线后可查看真实的激活和交叉注意力图（在 CPU "
    "上只有小模型运行得快；真正的 SD-1.5 需要 GPU）。",
    "unet.live.prompt": "提示词",
    "unet.live.timestep": "时间步 t（999 = 纯噪声）",
    "unet.live.run": "运行一次 UNet",
    "unet.live.side": "分析用图像边长（像素）",
    "unet.live.stats": "每个模块的输出（一次前向传播）",
    "unet.live.maps": "每个提示词词元的交叉注意力（对所有层和头取平均）",
    "unet.live.maps.caption": "越亮 = 越关注这个词元的图像位置。每个位置对 77 个词元的权重之和为 1；"
    "<|startoftext|> 通常占去大部分。",
    "unet.live.slow": "这是在 CPU 上运行完整的 SD-1.5 UNet：一次前向传播需要几十秒。用 GPU 则几乎瞬间完成。",
    "unet.table.caption": "{w}×{h} 像素图像的形状：潜变量 {lh}×{lw}，批大小 {b}。",
    "unet.mnist.title": "另一个 UNet：“可训练的扩散模型”页在 MNIST 上训练的小 UNet",
    "unet.mnist.body": "同一类网络，只有 {params:,} 个参数（而不是 8.595 亿）：没有文本编码器，所以没有交叉注意力；类别标签（0–9，或用于引导的“无标签”）代替提示词，加到时间嵌入上。",
}
