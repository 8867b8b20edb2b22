"""Strings of the language-model page (area `lm.`), plus its nav title and home blurb."""

EN = {
    "nav.lm": "Transformer language model",
    "home.lm": "Train a small GPT on 300 Tang poems (or English verse) live, let it write, and see where "
    "each character looks.",
    "lm.intro": "A GPT reads characters and predicts the next one. It knows nothing about poetry: it learns "
    "the five- and seven-character rhythm, the commas and the rhymes from the corpus alone, while you watch "
    "(it is only told how many characters it has read since the last comma or line break). Training and "
    "validation loss are in nats per character; the line labelled “bigram baseline” is a counted bigram "
    "model (the next character from the previous one only), the baseline to beat.",
    "lm.corpus": "Corpus",
    "lm.corpus.tang300": "唐诗三百首 (Tang poems)",
    "lm.corpus.song100": "宋词一百首 (Song poems)",
    "lm.corpus.verse": "English verse",
    "lm.source": "Source: {file}, Debian package `{package}`, licence {licence}. {poems} poems, {chars:,} "
    "characters, vocabulary {vocab:,} characters. The model reads {train:,} characters for training and "
    "{val:,} for validation (every tenth poem; for the Chinese poems the verse lines only, without titles "
    "and authors).",
    "lm.recipe": "Recipe",
    "lm.recipe.quick": "Quick (200 steps)",
    "lm.recipe.long": "Longer (800 steps, better metre)",
    "lm.recipe.help": "Both: 2 layers, 64 channels, 32 characters of context from a line start, "
    "and a clause-position embedding (how many characters since the last ，。 or line break: where in a "
    "five- or seven-character clause it is). Quick: 200 steps. Longer: 800 slower steps.",
    "lm.train": "Train the GPT",
    "lm.progress": "Step {step}: loss {loss:.3f} · {elapsed:.0f} s",
    "lm.live.sample": "What it writes now (temperature 0.8):",
    "lm.split.train": "training",
    "lm.split.val": "validation",
    "lm.bigram": "bigram baseline",
    "lm.step": "step",
    "lm.loss": "loss (nats per character)",
    "lm.none": "No model yet: press Train. Before training, every character is equally likely: loss ln V = "
    "{uniform:.2f}. The bigram baseline reaches {bigram:.2f} on the validation poems.",
    "lm.done.gpt": "Trained {steps} steps in {s:.0f} s. Kept the weights of step {best}, where the validation "
    "loss was lowest ({val:.3f}): after that the model starts to learn the training poems by heart.",
    "lm.done.last": "Trained {steps} steps in {s:.0f} s. Validation loss {val:.3f} at the end (lowest {low:.3f}, "
    "at step {low_step}): this recipe keeps its last weights, because the five- and seven-character metre "
    "still improves while the validation loss is flat.",
    "lm.done.cnn": "The CNN trained {steps} steps in {s:.0f} s: validation loss {val:.3f} (step {best}).",
    "lm.tab.write": "Write",
    "lm.tab.attention": "Attention",
    "lm.tab.structure": "Structure",
    "lm.tab.cnn": "Transformer vs CNN",
    "lm.weights": "Save / load the model",
    "lm.prompt": "Prompt",
    "lm.prompt.help": "The text the model continues. It reads at most the last {n} characters.",
    "lm.heads": "藏头诗: first characters of the lines",
    "lm.heads.help": "Each line (clause) starts with the next of these characters, e.g. 春夏秋冬.",
    "lm.temp": "Temperature",
    "lm.temp.help": "Logits are divided by the temperature before the softmax: low = safe and repetitive, high "
    "= surprising and broken.",
    "lm.topk": "Top-k",
    "lm.topk.help": "Sample only among the k most likely characters (all = no cut).",
    "lm.topk.all": "all",
    "lm.n": "Characters to write",
    "lm.write": "Write",
    "lm.rhythm": "{share:.0%} of these {lines} lines have the five- or seven-character rhythm.",
    "lm.att.none": "Write something first (or give a prompt of two characters or more): the maps show how it "
    "was read.",
    "lm.att.explain": "Every layer and head over the last {n} characters. Row = the position that is writing, "
    "column = the character it reads; grey = the future, hidden by the causal mask.",
    "lm.att.lh": "layer {l}, head {h}",
    "lm.att.layer": "Layer",
    "lm.att.head": "Head",
    "lm.att.rows": "writing position",
    "lm.att.cols": "reads",
    "lm.att.pick": "Pick a character to see where it looked",
    "lm.att.looked": "Where **{c}** looked (layer {l}, head {h}): darker = more attention; grey = future.",
    "lm.part": "Graph",
    "lm.part.model": "whole model (blocks as boxes)",
    "lm.part.block": "inside one block",
    "lm.params": "Parameters per layer (torchinfo, one forward pass). {n:,} distinct parameters: the output "
    "layer shares its weights with the token embedding.",
    "lm.col.layer": "layer",
    "lm.col.output": "output shape",
    "lm.col.params": "parameters",
    "lm.cnn.explain": "Seed 004 asks how a Transformer and a CNN differ in capturing context. Here is the "
    "experiment: a causal 1-D CNN with about as many parameters, trained the same way on the same text. "
    "A CNN output sees only its receptive field; attention can read the whole context.",
    "lm.cnn.params": "Parameters: GPT / CNN",
    "lm.cnn.span": "Attention span (characters)",
    "lm.cnn.rf": "CNN receptive field (characters)",
    "lm.cnn.train": "Train the CNN the same way",
    "lm.cnn.stale": "The GPT was retrained with another context length: train the CNN again to compare.",
    "lm.cnn.bypos": "Validation loss against the context a position has seen: beyond {rf} characters the "
    "CNN cannot see any further back, the Transformer can.",
    "lm.cnn.context": "characters of context",
    "lm.download": "Save (.safetensors)",
    "lm.upload": "Load a saved model",
    "lm.upload.help": "A .safetensors file from the Save button. Pickled .pt files are refused: loading them can "
    "run any code.",
    "lm.loaded": "Loaded a {kind} with {n:,} parameters trained on {corpus}.",
}

ZH = {
    "nav.lm": "Transformer 语言模型",
    "home.lm": "现场用唐诗三百首（或英文诗）训练一个小 GPT，让它写诗，并看每个字在“看”哪里。",
    "lm.intro": "GPT 逐字阅读并预测下一个字。它对诗一无所知：五言七言的节奏、逗号和押韵，全靠从语料中学习，"
    "你可以看着它学会（它只被告知：从上一个逗号或换行起已经读了几个字）。训练和验证损失以“每字奈特”为单位；"
    "标为“二元模型基线”的线是计数得到的二元（bigram）模型（只根据前一个字预测下一个字），是要超越的基线。",
    "lm.corpus": "语料",
    "lm.corpus.tang300": "唐诗三百首",
    "lm.corpus.song100": "宋词一百首",
    "lm.corpus.verse": "英文诗歌 (English verse)",
    "lm.source": "来源：{file}，Debian 软件包 `{package}`，许可证 {licence}。共 {poems} 首，{chars:,} 个字符，"
    "词表 {vocab:,} 个字。模型读 {train:,} 字用于训练，{val:,} 字用于验证（每十首取一首；中文诗只取诗句，"
    "不含题目和作者）。",
    "lm.recipe": "配置",
    "lm.recipe.quick": "快速（200 步）",
    "lm.recipe.long": "较长（800 步，格律更好）",
    "lm.recipe.help": "两者：2 层、64 通道，从一行的开头读 32 个字的上下文，"
    "并有一个“句内位置”嵌入（距上一个，。或换行已有几个字：在五言或七言的一句里写到了第几个字）。"
    "快速：200 步。较长：800 步，学习率更小。",
    "lm.train": "训练 GPT",
    "lm.progress": "第 {step} 步：损失 {loss:.3f} · {elapsed:.0f} 秒",
    "lm.live.sample": "它现在写出的（温度 0.8）：",
    "lm.split.train": "训练",
    "lm.split.val": "验证",
    "lm.bigram": "二元模型基线",
    "lm.step": "步数",
    "lm.loss": "损失（每字奈特）",
    "lm.none": "还没有模型：请点击“训练”。训练前每个字的概率相同：损失为 ln V = {uniform:.2f}。"
    "二元模型基线在验证诗上达到 {bigram:.2f}。",
    "lm.done.gpt": "训练了 {steps} 步，用时 {s:.0f} 秒。保留了第 {best} 步的权重，那时验证损失最低（{val:.3f}）："
    "再往后模型开始背诵训练集里的诗。",
    "lm.done.last": "训练了 {steps} 步，用时 {s:.0f} 秒。最后的验证损失为 {val:.3f}（最低 {low:.3f}，在第 {low_step} 步）："
    "这个配置保留最后的权重，因为验证损失已经平了，五言、七言的格律却还在变好。",
    "lm.done.cnn": "CNN 训练了 {steps} 步，用时 {s:.0f} 秒：验证损失 {val:.3f}（第 {best} 步）。",
    "lm.tab.write": "写诗",
    "lm.tab.attention": "注意力",
    "lm.tab.structure": "结构",
    "lm.tab.cnn": "Transformer 对比 CNN",
    "lm.weights": "保存 / 加载模型",
    "lm.prompt": "提示",
    "lm.prompt.help": "模型接着写的文字。它最多只读最后 {n} 个字。",
    "lm.heads": "藏头诗：每句的第一个字",
    "lm.heads.help": "每一句依次以这些字开头，例如：春夏秋冬。",
    "lm.temp": "温度",
    "lm.temp.help": "softmax 之前把 logits 除以温度：低温稳妥但重复，高温出人意料但容易出错。",
    "lm.topk": "Top-k",
    "lm.topk.help": "只在最可能的 k 个字中采样（全部 = 不截断）。",
    "lm.topk.all": "全部",
    "lm.n": "生成字数",
    "lm.write": "写",
    "lm.rhythm": "这 {lines} 行中有 {share:.0%} 符合五言或七言的节奏。",
    "lm.att.none": "请先写点什么（或给出至少两个字的提示）：注意力图显示它是怎样被读的。",
    "lm.att.explain": "最后 {n} 个字上每一层、每一个头的注意力。行 = 正在写的位置，列 = 它读的字；"
    "灰色 = 未来，被因果掩码遮住。",
    "lm.att.lh": "第 {l} 层，第 {h} 头",
    "lm.att.layer": "层",
    "lm.att.head": "头",
    "lm.att.rows": "正在写的位置",
    "lm.att.cols": "读的字",
    "lm.att.pick": "选一个字，看它在看哪里",
    "lm.att.looked": "**{c}** 在看哪里（第 {l} 层，第 {h} 头）：颜色越深注意力越大；灰色 = 未来。",
    "lm.part": "计算图",
    "lm.part.model": "整个模型（每个块一个方框）",
    "lm.part.block": "一个块的内部",
    "lm.params": "每层参数（torchinfo，一次前向传播）。共 {n:,} 个不同的参数：输出层与字嵌入共享权重。",
    "lm.col.layer": "层",
    "lm.col.output": "输出形状",
    "lm.col.params": "参数",
    "lm.cnn.explain": "种子 004 问：Transformer 和 CNN 在捕捉上下文依赖上有什么差异？这里用实验回答："
    "一个参数量相近的因果一维 CNN，在同样的文本上用同样的方法训练。CNN 的输出只能看到它的感受野；"
    "注意力可以读到整个上下文。",
    "lm.cnn.params": "参数：GPT / CNN",
    "lm.cnn.span": "注意力跨度（字）",
    "lm.cnn.rf": "CNN 感受野（字）",
    "lm.cnn.train": "用同样的方法训练 CNN",
    "lm.cnn.stale": "GPT 已用另一种上下文长度重新训练：请重新训练 CNN 再比较。",
    "lm.cnn.bypos": "验证损失与该位置已看到的上下文长度的关系：超过 {rf} 个字，CNN 就看不到更早的字了，"
    "Transformer 还可以。",
    "lm.cnn.context": "上下文字数",
    "lm.download": "保存（.safetensors）",
    "lm.upload": "加载保存的模型",
    "lm.upload.help": "用“保存”按钮得到的 .safetensors 文件。pickle 格式的 .pt 文件会被拒绝：加载它们可能执行任意代码。",
    "lm.loaded": "已加载一个 {kind}，{n:,} 个参数，训练语料：{corpus}。",
}
